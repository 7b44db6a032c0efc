// The "automate" mode: one run of an ImageUpdateAutomation against a Git repository, restated
// on the libraries image-automation-controller uses (the controller is served by the Go module
// proxy in no version): clone the checkout branch with go-git, switch to the push branch (the
// remote branch if it exists, else a new branch from the checkout head), apply the setters with
// kyaml (run, main.go), render the commit message with text/template and sprig's hermetic text
// function map over the controller's template data (.AutomationObject, .Changed with
// FileChanges and the methods Changes and Objects, .Values), commit with go-git as the author,
// push the branch, then push the refspec if one is given. Written from the controller's
// documented behaviour. It is the peer of test/src/flux/gitAutomation.test.ts.
//
// Usage: kyaml-setters automate < automate.json
// request: {"url","username","password","namespace","name","policies","checkoutBranch",
//
//	"pushBranch","refspec","pushOptions":{k:v},"messageTemplate","messageTemplateValues":{k:v},
//	"author":{"name","email"}}
//
// answer: {"message","commit","error"} (error is the text the controller would report, with its
// "failed to update source: " prefix). The template data's types live in the packages source,
// update and types so that their names in template errors are the controller's.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	gitobject "github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/imageops/image-automation/test/oracles/kyaml-setters/source"
	"github.com/imageops/image-automation/test/oracles/kyaml-setters/types"
	"github.com/imageops/image-automation/test/oracles/kyaml-setters/update"
)

type automateRequest struct {
	URL                   string              `json:"url"`
	Username              string              `json:"username"`
	Password              string              `json:"password"`
	Namespace             string              `json:"namespace"`
	Name                  string              `json:"name"`
	Policies              map[string]imageRef `json:"policies"`
	CheckoutBranch        string              `json:"checkoutBranch"`
	PushBranch            string              `json:"pushBranch"`
	Refspec               string              `json:"refspec"`
	PushOptions           map[string]string   `json:"pushOptions"`
	MessageTemplate       string              `json:"messageTemplate"`
	MessageTemplateValues map[string]string   `json:"messageTemplateValues"`
	Author                struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
}

type automateAnswer struct {
	Message string `json:"message"`
	Commit  string `json:"commit"`
	Error   string `json:"error"`
}

// removedFieldError is reported as is (Stalled RemovedTemplateField), without the
// "failed to update source: " the controller puts before other commit and push errors.
type removedFieldError string

func (e removedFieldError) Error() string { return string(e) }

func renderMessage(text string, data source.TemplateData) (string, error) {
	if text == "" {
		text = "Update from image update automation"
	}
	t, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Parse(text)
	if err != nil {
		return "", fmt.Errorf("unable to create commit message template from spec: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		// Fields removed in the controller's v1 are reported as such.
		const docs = "See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template"
		if strings.Contains(err.Error(), "can't evaluate field Updated in type source.TemplateData") {
			return "", removedFieldError("template uses removed '.Updated' field. Please use '.Changed' instead. " + docs)
		}
		if strings.Contains(err.Error(), "can't evaluate field ImageResult in type update.Result") {
			return "", removedFieldError("template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. " + docs)
		}
		return "", fmt.Errorf("failed to run template from spec: %w", err)
	}
	return b.String(), nil
}

func automate(req automateRequest) (automateAnswer, error) {
	out := automateAnswer{}
	dir, err := os.MkdirTemp("", "kyaml-automate-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	auth := &http.BasicAuth{Username: req.Username, Password: req.Password}
	repo, err := gogit.PlainClone(dir, false, &gogit.CloneOptions{
		URL: req.URL, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(req.CheckoutBranch), SingleBranch: true,
	})
	if err != nil {
		return out, fmt.Errorf("clone: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return out, err
	}
	pushBranch := req.CheckoutBranch
	if req.PushBranch != "" && req.PushBranch != req.CheckoutBranch {
		pushBranch = req.PushBranch
		// The remote push branch if it exists, else a new branch from the checkout head.
		remoteRef := plumbing.NewRemoteReferenceName("origin", pushBranch)
		err := repo.Fetch(&gogit.FetchOptions{Auth: auth, RefSpecs: []config.RefSpec{
			config.RefSpec("refs/heads/" + pushBranch + ":" + remoteRef.String()),
		}})
		checkout := &gogit.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(pushBranch), Create: true}
		if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
			ref, rerr := repo.Reference(remoteRef, true)
			if rerr != nil {
				return out, rerr
			}
			checkout.Hash = ref.Hash()
		}
		if err := wt.Checkout(checkout); err != nil {
			return out, fmt.Errorf("switch branch: %w", err)
		}
	}
	setterReq := request{Namespace: req.Namespace, Policies: req.Policies}
	applied, err := run(dir, setterReq)
	if err != nil {
		return out, err
	}
	if len(applied.Changes) == 0 {
		return out, nil
	}
	res := update.Result{FileChanges: map[string]update.ObjectChanges{}}
	for _, c := range applied.Changes {
		id := update.ObjectIdentifier{ResourceIdentifier: yaml.ResourceIdentifier{
			TypeMeta: yaml.TypeMeta{APIVersion: c.Object.APIVersion, Kind: c.Object.Kind},
			NameMeta: yaml.NameMeta{Name: c.Object.Name, Namespace: c.Object.Namespace},
		}}
		if res.FileChanges[c.File] == nil {
			res.FileChanges[c.File] = update.ObjectChanges{}
		}
		res.FileChanges[c.File][id] = append(res.FileChanges[c.File][id], update.Change{OldValue: c.OldValue, NewValue: c.NewValue, Setter: c.Setter})
	}
	msg, err := renderMessage(req.MessageTemplate, source.TemplateData{
		AutomationObject: types.NamespacedName{Namespace: req.Namespace, Name: req.Name},
		Changed:          res,
		Values:           req.MessageTemplateValues,
	})
	if err != nil {
		var removed removedFieldError
		if errors.As(err, &removed) {
			out.Error = err.Error()
		} else {
			out.Error = "failed to update source: " + err.Error()
		}
		return out, nil
	}
	out.Message = msg
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		return out, err
	}
	sig := &gitobject.Signature{Name: req.Author.Name, Email: req.Author.Email, When: time.Now()}
	hash, err := wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return out, err
	}
	out.Commit = hash.String()
	branchRef := "refs/heads/" + pushBranch
	if err := repo.Push(&gogit.PushOptions{Auth: auth, RefSpecs: []config.RefSpec{config.RefSpec(branchRef + ":" + branchRef)}, Options: req.PushOptions}); err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		out.Error = "failed to update source: " + err.Error()
		return out, nil
	}
	if req.Refspec != "" {
		spec := config.RefSpec(req.Refspec)
		if err := spec.Validate(); err != nil {
			out.Error = "failed to update source: " + err.Error()
			return out, nil
		}
		if err := repo.Push(&gogit.PushOptions{Auth: auth, RefSpecs: []config.RefSpec{spec}, Options: req.PushOptions}); err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
			out.Error = "failed to update source: " + err.Error()
			return out, nil
		}
	}
	return out, nil
}

func mainAutomate() {
	fieldmetaShortHand()
	var req automateRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "reading request:", err)
		os.Exit(2)
	}
	out, err := automate(req)
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
