// The peer of bench/pull-request-updates.ts: the same per-pull-request work done by a plain
// program with the Gitea Go SDK, against the same Gitea, so that the benchmark's ratio says what
// the engine adds. For each pull request, sequentially: a shallow clone of the base branch, the
// tag rewritten in its manifest, a commit force-pushed with a lease to the pull request's branch,
// then one edit of the pull request (title and body). No promotions, no store, no planning.
//
// Input (JSON on stdin): {"baseUrl", "token", "owner", "repo", "base", "tag",
// "pulls": [{"number", "branch", "head", "file"}]}. Output (JSON on stdout): {"ms", "apiCalls",
// "failures"}. The token is sent only to baseUrl (loopback in the benchmark).
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"time"

	"code.gitea.io/sdk/gitea"
)

type pull struct {
	Number int64  `json:"number"`
	Branch string `json:"branch"`
	Head   string `json:"head"`
	File   string `json:"file"`
}

type input struct {
	BaseURL string `json:"baseUrl"`
	Token   string `json:"token"`
	User    string `json:"user"`
	Owner   string `json:"owner"`
	Repo    string `json:"repo"`
	Base    string `json:"base"`
	Tag     string `json:"tag"`
	Pulls   []pull `json:"pulls"`
}

type counting struct {
	calls atomic.Int64
	next  http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return c.next.RoundTrip(r)
}

var tagPattern = regexp.MustCompile(`(registry\.example\.com/team/shared:)[^ ]+`)

func git(dir string, auth string, args ...string) error {
	cmd := exec.Command("git", append([]string{"-c", "http.extraHeader=Authorization: Basic " + auth}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, out)
	}
	return nil
}

func update(client *gitea.Client, in input, auth string, p pull) error {
	dir, err := os.MkdirTemp("", "peer-pr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cloneURL := fmt.Sprintf("%s/%s/%s.git", in.BaseURL, in.Owner, in.Repo)
	if err := git(dir, auth, "clone", "--quiet", "--depth", "1", "--branch", in.Base, cloneURL, "."); err != nil {
		return err
	}
	file := filepath.Join(dir, p.File)
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, tagPattern.ReplaceAll(content, []byte("${1}"+in.Tag)), 0o644); err != nil {
		return err
	}
	if err := git(dir, auth, "-c", "user.name=peer", "-c", "user.email=peer@example.com", "commit", "--quiet", "-am", "Update to "+in.Tag); err != nil {
		return err
	}
	lease := fmt.Sprintf("--force-with-lease=refs/heads/%s:%s", p.Branch, p.Head)
	if err := git(dir, auth, "push", "--quiet", lease, "origin", "HEAD:refs/heads/"+p.Branch); err != nil {
		return err
	}
	title := "Update to " + in.Tag
	body := "Updated by the peer harness to " + in.Tag
	_, _, err = client.EditPullRequest(in.Owner, in.Repo, p.Number, gitea.EditPullRequestOption{Title: title, Body: &body})
	return err
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "reading the input:", err)
		os.Exit(2)
	}
	transport := &counting{next: http.DefaultTransport}
	client, err := gitea.NewClient(in.BaseURL,
		gitea.SetToken(in.Token),
		gitea.SetHTTPClient(&http.Client{Transport: transport}),
		// No version probe: the calls counted are the per-pull-request work only.
		gitea.SetGiteaVersion(""),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitea client:", err)
		os.Exit(2)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(in.User + ":" + in.Token))
	failures := []string{}
	started := time.Now()
	for _, p := range in.Pulls {
		if err := update(client, in, auth, p); err != nil {
			failures = append(failures, fmt.Sprintf("#%d: %v", p.Number, err))
		}
	}
	out := map[string]any{
		"ms":       float64(time.Since(started).Microseconds()) / 1000,
		"apiCalls": transport.calls.Load(),
		"failures": failures,
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
