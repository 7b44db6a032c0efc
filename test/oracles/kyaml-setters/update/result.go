// Package update re-declares the controller's setter result with the same package, type, field
// and method names, so templates and their error texts see what they see upstream.
package update

import "sigs.k8s.io/kustomize/kyaml/yaml"

// ObjectIdentifier names an object: APIVersion, Kind, Name and Namespace through kyaml's
// ResourceIdentifier.
type ObjectIdentifier struct {
	yaml.ResourceIdentifier
}

// Change is one setter's update of one value.
type Change struct {
	OldValue string
	NewValue string
	Setter   string
}

// ObjectChanges lists the changes of each object.
type ObjectChanges map[ObjectIdentifier][]Change

// Result is what the setters changed, per file.
type Result struct {
	FileChanges map[string]ObjectChanges
}

// Changes lists each distinct change once (map iteration order, as upstream).
func (r Result) Changes() []Change {
	seen := map[Change]struct{}{}
	var out []Change
	for _, objs := range r.FileChanges {
		for _, changes := range objs {
			for _, c := range changes {
				if _, ok := seen[c]; !ok {
					seen[c] = struct{}{}
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// Objects merges the changes of every file per object.
func (r Result) Objects() ObjectChanges {
	out := ObjectChanges{}
	for _, objs := range r.FileChanges {
		for id, changes := range objs {
			out[id] = append(out[id], changes...)
		}
	}
	return out
}
