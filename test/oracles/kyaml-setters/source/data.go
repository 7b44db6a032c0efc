// Package source holds the commit message template's data, named as the controller names it.
package source

import (
	"github.com/imageops/image-automation/test/oracles/kyaml-setters/types"
	"github.com/imageops/image-automation/test/oracles/kyaml-setters/update"
)

// TemplateData is what the commit message template is executed over.
type TemplateData struct {
	AutomationObject types.NamespacedName
	Changed          update.Result
	Values           map[string]string
}
