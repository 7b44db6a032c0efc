// Command gotemplate renders Go text/template cases with the function sets Flux uses, for
// the template engine's differential test: the Flux Operator's ResourceSet functions
// (slim-sprig hermetic + slugify + toYaml, `inputs` as a function, nil data) and the
// image-automation-controller's commit message functions (sprig hermetic, data = inputs).
//
// Input: one JSON object per line {"id","name","text","delims":[l,r],"funcs","inputs"}.
// Output: one JSON object per line {"id","output"} or {"id","error","phase"}.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"
	slimsprig "github.com/go-task/slim-sprig/v3"
	"github.com/gosimple/slug"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

type request struct {
	ID     int             `json:"id"`
	Name   string          `json:"name"`
	Text   string          `json:"text"`
	Delims []string        `json:"delims"`
	Funcs  string          `json:"funcs"`
	Inputs json.RawMessage `json:"inputs"`
}

type response struct {
	ID     int     `json:"id"`
	Output *string `json:"output,omitempty"`
	Error  string  `json:"error,omitempty"`
	Phase  string  `json:"phase,omitempty"`
}

func render(req request) response {
	var inputs map[string]any
	if len(req.Inputs) > 0 {
		if err := utiljson.Unmarshal(req.Inputs, &inputs); err != nil {
			return response{ID: req.ID, Error: err.Error(), Phase: "inputs"}
		}
	}
	tp := template.New(req.Name)
	if len(req.Delims) == 2 {
		tp = tp.Delims(req.Delims[0], req.Delims[1])
	}
	var data any
	if req.Funcs == "commitMessage" {
		tp = tp.Funcs(sprig.HermeticTxtFuncMap())
		data = inputs
	} else {
		tp = tp.Funcs(slimsprig.HermeticTxtFuncMap()).
			Funcs(template.FuncMap{"slugify": slug.Make}).
			Funcs(template.FuncMap{"inputs": func() any { return inputs }}).
			Funcs(template.FuncMap{"toYaml": toYaml, "mustToYaml": mustToYaml})
	}
	tp, err := tp.Option("missingkey=error").Parse(req.Text)
	if err != nil {
		return response{ID: req.ID, Error: err.Error(), Phase: "parse"}
	}
	var b strings.Builder
	if err := tp.Execute(&b, data); err != nil {
		return response{ID: req.ID, Error: err.Error(), Phase: "execute"}
	}
	out := b.String()
	return response{ID: req.ID, Output: &out}
}

func toYaml(v any) string {
	s, err := mustToYaml(v)
	if err != nil {
		return ""
	}
	return s
}

func mustToYaml(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func main() {
	slug.MaxLength = 63
	slug.EnableSmartTruncate = true
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := enc.Encode(render(req)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}
