// Package types holds the automation's name as the controller's template data gives it
// (apimachinery's types.NamespacedName re-declared: it prints as "namespace/name").
package types

// NamespacedName is a namespace and a name.
type NamespacedName struct {
	Namespace string
	Name      string
}

func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }
