// Command kyaml-setters applies image policy setter markers to a directory of manifests with
// sigs.k8s.io/kustomize/kyaml, the library image-automation-controller's update step is built on.
// The controller itself is not served by the Go module proxy, so this is a harness written from
// the behaviour described in docs (spec section C.3–C.6): the walk, the file filter, the
// screening for "$imagepolicy", kio.ByteReader (PreserveSeqIndent) and kio.ByteWriter, the
// marker read by kyaml's fieldmeta with the short-hand key "$imagepolicy", and the quoting by
// yaml.FormatNonStringStyle. It is the peer of test/src/flux/gitSetters.test.ts.
//
// Usage: kyaml-setters DIR < request.json (and "kyaml-setters automate", automate.go)
// request: {"namespace": "ns", "policies": {"<policy>": {"name": "...", "tag": "...", "digest": "..."}}}
// answer (stdout): {"files": [...], "changes": [...], "problemFiles": [...]}
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/kustomize/kyaml/fieldmeta"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type imageRef struct {
	Name   string `json:"name"`
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
}

type request struct {
	Namespace string              `json:"namespace"`
	Policies  map[string]imageRef `json:"policies"`
}

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
}

type change struct {
	File     string `json:"file"`
	Setter   string `json:"setter"`
	OldValue string `json:"oldValue"`
	NewValue string `json:"newValue"`
	Object   object `json:"object"`
}

type answer struct {
	Files        []string `json:"files"`
	Changes      []change `json:"changes"`
	ProblemFiles []string `json:"problemFiles"`
}

// setters builds the four setters of each policy (spec C.3) as OpenAPI definitions
// "io.k8s.cli.setters.<name>", which fieldmeta resolves the short-hand marker against.
func setters(req request) (map[string]string, *spec.Schema) {
	values := map[string]string{}
	for name, ref := range req.Policies {
		full := ref.Name + ":" + ref.Tag
		if ref.Digest != "" {
			full += "@" + ref.Digest
		}
		base := req.Namespace + ":" + name
		values[base] = full
		values[base+":tag"] = ref.Tag
		values[base+":name"] = ref.Name
		values[base+":digest"] = ref.Digest
	}
	schema := &spec.Schema{SchemaProps: spec.SchemaProps{Definitions: spec.Definitions{}}}
	for name, value := range values {
		def := spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
		def.VendorExtensible.AddExtension("x-k8s-cli", map[string]interface{}{
			"setter": map[string]interface{}{"name": name, "value": value},
		})
		schema.Definitions[fieldmeta.SetterDefinitionPrefix+name] = def
	}
	return values, schema
}

type setterFilter struct {
	values  map[string]string
	schema  *spec.Schema
	file    string
	object  object
	changes []change
}

// visit walks every mapping value and sequence item; scalars are the candidates (spec C.4).
func (f *setterFilter) visit(node *yaml.RNode) error {
	n := node.YNode()
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := f.visitChild(n.Content[i]); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if err := f.visitChild(item); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *setterFilter) visitChild(n *yaml.Node) error {
	child := yaml.NewRNode(n)
	if n.Kind != yaml.ScalarNode {
		return f.visit(child)
	}
	fm := fieldmeta.FieldMeta{SettersSchema: f.schema}
	if err := fm.Read(child); err != nil {
		return err
	}
	ref := fm.Schema.Ref.String()
	prefix := fieldmeta.DefinitionsPrefix + fieldmeta.SetterDefinitionPrefix
	if !strings.HasPrefix(ref, prefix) {
		return nil
	}
	name := strings.TrimPrefix(ref, prefix)
	value, ok := f.values[name]
	if !ok {
		return nil
	}
	if n.Value == value {
		return nil
	}
	f.changes = append(f.changes, change{File: f.file, Setter: name, OldValue: n.Value, NewValue: value, Object: f.object})
	n.Value = value
	def := f.schema.Definitions[fieldmeta.SetterDefinitionPrefix+name]
	yaml.FormatNonStringStyle(n, def)
	return nil
}

func isManifest(path string) bool {
	ext := filepath.Ext(path)
	return ext == ".yaml" || ext == ".yml" || filepath.Base(path) == "Kustomization"
}

func run(root string, req request) (answer, error) {
	values, schema := setters(req)
	out := answer{Files: []string{}, Changes: []change{}, ProblemFiles: []string{}}
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() || !isManifest(path) {
			return nil
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return nil // unreadable (a dangling symlink): skipped
		}
		if !bytes.Contains(content, []byte(`"$imagepolicy"`)) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(content), PreserveSeqIndent: true}).Read()
		if err != nil {
			out.ProblemFiles = append(out.ProblemFiles, rel)
			return nil
		}
		f := &setterFilter{values: values, schema: schema, file: rel}
		for _, node := range nodes {
			f.object = object{APIVersion: node.GetApiVersion(), Kind: node.GetKind(), Name: node.GetName(), Namespace: node.GetNamespace()}
			if err := f.visit(node); err != nil {
				return err
			}
		}
		if len(f.changes) == 0 {
			return nil
		}
		var buf bytes.Buffer
		if err := (kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
			return err
		}
		if err := os.WriteFile(path, buf.Bytes(), info.Mode().Perm()); err != nil {
			return err
		}
		out.Files = append(out.Files, rel)
		out.Changes = append(out.Changes, f.changes...)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("walking path for files: %w", err)
	}
	sort.Strings(out.Files)
	return out, nil
}

func fieldmetaShortHand() {
	// As image-automation-controller does: markers are {"$imagepolicy": "<setter>"}.
	fieldmeta.SetShortHandRef("$imagepolicy")
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "automate" {
		mainAutomate()
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kyaml-setters DIR < request.json")
		os.Exit(2)
	}
	// As image-automation-controller does: markers are {"$imagepolicy": "<setter>"}.
	fieldmeta.SetShortHandRef("$imagepolicy")
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "reading request:", err)
		os.Exit(2)
	}
	out, err := run(os.Args[1], req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
