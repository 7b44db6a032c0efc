// Command semver-oracle answers ImagePolicy selections with the real Masterminds/semver
// (the version Flux's image-reflector-controller pins) and Go's regexp and strconv, so the
// TypeScript policy engine can be compared with them case by case.
//
// The policer loops restate Flux's glue (internal/policy in image-reflector-controller and
// fluxcd/pkg/version.ParseVersion). One deliberate difference: with filterTags, Flux visits
// the candidates in Go map order (random); here, as in the TypeScript engine, they are
// visited in descending byte order so ties have one answer.
//
// Modes:
//
//	semver-oracle select   JSON lines in, JSON lines out: {"id","policy","filterTags","tags"} -> {"id","tag"|"error"}
//	semver-oracle regexp   JSON lines: {"id","pattern","template","inputs"} -> {"id","error"|"matches"}
//	semver-oracle duration JSON lines: {"id","text","ns"} -> {"id","ns"|"error","string"}: time.ParseDuration(text), Duration(ns).String()
//	semver-oracle float    JSON lines: {"id","text"} -> {"id","bits"|"error"}: strconv.ParseFloat(text, 64) as hex IEEE bits
//	semver-oracle bench    one JSON case on stdin plus "iterations"; prints {"tag","nsPerOp"}
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

type policyChoice struct {
	Semver *struct {
		Range string `json:"range"`
	} `json:"semver,omitempty"`
	Alphabetical *struct {
		Order string `json:"order"`
	} `json:"alphabetical,omitempty"`
	Numerical *struct {
		Order string `json:"order"`
	} `json:"numerical,omitempty"`
}

type tagFilter struct {
	Pattern string `json:"pattern"`
	Extract string `json:"extract"`
}

type request struct {
	ID         int          `json:"id"`
	Policy     policyChoice `json:"policy"`
	FilterTags *tagFilter   `json:"filterTags,omitempty"`
	Tags       []string     `json:"tags"`
	Iterations int          `json:"iterations,omitempty"`
}

// regexpRequest asks how Go compiles a pattern and what it finds in each input: the
// leftmost-first submatches (nil for a group that did not participate) and Expand(template).
type regexpRequest struct {
	ID       int      `json:"id"`
	Pattern  string   `json:"pattern"`
	Template string   `json:"template"`
	Inputs   []string `json:"inputs"`
}

type regexpMatch struct {
	Groups   []*string `json:"groups"`
	Expanded string    `json:"expanded"`
}

type regexpResponse struct {
	ID      int            `json:"id"`
	Error   string         `json:"error,omitempty"`
	Matches []*regexpMatch `json:"matches,omitempty"`
}

func answerRegexp(req *regexpRequest) regexpResponse {
	re, err := regexp.Compile(req.Pattern)
	if err != nil {
		return regexpResponse{ID: req.ID, Error: err.Error()}
	}
	res := regexpResponse{ID: req.ID, Matches: make([]*regexpMatch, len(req.Inputs))}
	for i, input := range req.Inputs {
		m := re.FindStringSubmatchIndex(input)
		if m == nil {
			continue
		}
		match := &regexpMatch{Groups: make([]*string, len(m)/2)}
		for g := range match.Groups {
			if m[2*g] >= 0 {
				text := input[m[2*g]:m[2*g+1]]
				match.Groups[g] = &text
			}
		}
		match.Expanded = string(re.ExpandString(nil, req.Template, input, m))
		res.Matches[i] = match
	}
	return res
}

// durationRequest asks Go's time.ParseDuration(Text) and Duration(Ns).String(); Ns is a
// decimal string because JSON numbers lose int64 precision in JavaScript.
type durationRequest struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Ns   string `json:"ns"`
}

type durationResponse struct {
	ID     int    `json:"id"`
	Ns     string `json:"ns,omitempty"`
	Error  string `json:"error,omitempty"`
	String string `json:"string"`
}

func answerDuration(req *durationRequest) durationResponse {
	res := durationResponse{ID: req.ID}
	if d, err := time.ParseDuration(req.Text); err != nil {
		res.Error = err.Error()
	} else {
		res.Ns = strconv.FormatInt(int64(d), 10)
	}
	if n, err := strconv.ParseInt(req.Ns, 10, 64); err == nil {
		res.String = time.Duration(n).String()
	}
	return res
}

// floatRequest asks Go's strconv.ParseFloat(Text, 64); the answer is the IEEE 754 bits in
// hex (exact, also for NaN and infinities) or the error text.
type floatRequest struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
}

type floatResponse struct {
	ID    int    `json:"id"`
	Bits  string `json:"bits,omitempty"`
	Error string `json:"error,omitempty"`
}

func answerFloat(req *floatRequest) floatResponse {
	f, err := strconv.ParseFloat(req.Text, 64)
	if err != nil {
		return floatResponse{ID: req.ID, Error: err.Error()}
	}
	return floatResponse{ID: req.ID, Bits: fmt.Sprintf("%016x", math.Float64bits(f))}
}

// serveLines answers JSON lines until EOF.
func serveLines[Req any, Res any](dec *json.Decoder, enc *json.Encoder, answer func(*Req) Res) {
	for {
		var req Req
		if err := dec.Decode(&req); err != nil {
			if err.Error() == "EOF" {
				return
			}
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := enc.Encode(answer(&req)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}

type response struct {
	ID      int     `json:"id"`
	Tag     *string `json:"tag,omitempty"`
	Error   string  `json:"error,omitempty"`
	NsPerOp float64 `json:"nsPerOp,omitempty"`
}

func parseVersion(v string) (*semver.Version, error) {
	if len(strings.SplitN(v, ".", 3)) != 3 {
		return nil, semver.ErrInvalidSemVer
	}
	return semver.NewVersion(v)
}

type policer func(versions []string) (string, error)

func order(o string) (string, error) {
	o = strings.ToUpper(o)
	switch o {
	case "":
		return "ASC", nil
	case "ASC", "DESC":
		return o, nil
	}
	return "", fmt.Errorf("invalid order argument provided: '%s', must be one of: ASC, DESC", o)
}

func newPolicer(c policyChoice) (policer, error) {
	switch {
	case c.Semver != nil:
		constraint, err := semver.NewConstraint(c.Semver.Range)
		if err != nil {
			return nil, err
		}
		return func(versions []string) (string, error) {
			if len(versions) == 0 {
				return "", errors.New("version list argument cannot be empty")
			}
			var latest *semver.Version
			for _, ver := range versions {
				if v, err := parseVersion(ver); err == nil {
					if constraint.Check(v) && (latest == nil || v.GreaterThan(latest)) {
						latest = v
					}
				}
			}
			if latest != nil {
				return latest.Original(), nil
			}
			return "", errors.New("unable to determine latest version from provided list")
		}, nil
	case c.Alphabetical != nil:
		o, err := order(c.Alphabetical.Order)
		if err != nil {
			return nil, err
		}
		return func(versions []string) (string, error) {
			if len(versions) == 0 {
				return "", errors.New("version list argument cannot be empty")
			}
			sorted := append([]string(nil), versions...)
			if o == "DESC" {
				sort.Strings(sorted)
			} else {
				sort.Sort(sort.Reverse(sort.StringSlice(sorted)))
			}
			return sorted[0], nil
		}, nil
	case c.Numerical != nil:
		o, err := order(c.Numerical.Order)
		if err != nil {
			return nil, err
		}
		return func(versions []string) (string, error) {
			if len(versions) == 0 {
				return "", errors.New("version list argument cannot be empty")
			}
			var latest string
			var pv float64
			for i, version := range versions {
				cv, err := strconv.ParseFloat(version, 64)
				if err != nil {
					return "", fmt.Errorf("failed to parse invalid numeric value '%s'", version)
				}
				switch {
				case i == 0:
				case o == "ASC" && cv < pv, o == "DESC" && cv > pv:
					continue
				}
				latest = version
				pv = cv
			}
			return latest, nil
		}, nil
	}
	return nil, errors.New("given ImagePolicyChoice object is invalid")
}

// selector is a compiled policy, ready to run on tags.
type selector struct {
	latest policer
}

func compile(req *request) (*selector, error) {
	p, err := newPolicer(req.Policy)
	if err != nil {
		return nil, fmt.Errorf("invalid policy: %w", err)
	}
	return &selector{latest: p}, nil
}

// run follows Flux's applyPolicy: an empty repository is reported before the filter's
// pattern is compiled.
func (s *selector) run(tags []string, filter *tagFilter) (string, error) {
	if len(tags) == 0 {
		return "", errors.New("no tags in database")
	}
	if filter == nil {
		return s.latest(tags)
	}
	re, err := regexp.Compile(filter.Pattern)
	if err != nil {
		return "", fmt.Errorf("failed to filter tags: invalid regular expression pattern '%s': %w", filter.Pattern, err)
	}
	filtered := map[string]string{}
	for _, item := range tags {
		if m := re.FindStringSubmatchIndex(item); len(m) > 0 {
			tag := item
			if filter.Extract != "" {
				tag = string(re.ExpandString(nil, filter.Extract, item, m))
			}
			filtered[tag] = item
		}
	}
	candidates := make([]string, 0, len(filtered))
	for k := range filtered {
		candidates = append(candidates, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(candidates)))
	latest, err := s.latest(candidates)
	if err != nil {
		return "", err
	}
	return filtered[latest], nil
}

func answer(req *request) response {
	s, err := compile(req)
	if err != nil {
		return response{ID: req.ID, Error: err.Error()}
	}
	tag, err := s.run(req.Tags, req.FilterTags)
	if err != nil {
		return response{ID: req.ID, Error: err.Error()}
	}
	return response{ID: req.ID, Tag: &tag}
}

func main() {
	mode := "select"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	switch mode {
	case "select":
		for {
			var req request
			if err := dec.Decode(&req); err != nil {
				if err.Error() == "EOF" {
					return
				}
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if err := enc.Encode(answer(&req)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	case "regexp":
		for {
			var req regexpRequest
			if err := dec.Decode(&req); err != nil {
				if err.Error() == "EOF" {
					return
				}
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if err := enc.Encode(answerRegexp(&req)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	case "duration":
		serveLines(dec, enc, answerDuration)
	case "float":
		serveLines(dec, enc, answerFloat)
	case "bench":
		var req request
		if err := dec.Decode(&req); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		iterations := max(req.Iterations, 1)
		res := answer(&req) // warm-up, and the answer to compare
		start := time.Now()
		for range iterations {
			// Flux builds the policer on every reconcile, so the benchmark does too.
			if s, err := compile(&req); err == nil {
				_, _ = s.run(req.Tags, req.FilterTags)
			}
		}
		res.NsPerOp = float64(time.Since(start).Nanoseconds()) / float64(iterations)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	default:
		fmt.Fprintf(os.Stderr, "usage: semver-oracle select|regexp|bench\n")
		os.Exit(2)
	}
}
