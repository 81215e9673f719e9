// Command builderdump prints, as JSON, the Deployment and (with a dedicated database) the
// StatefulSet that kubeship's builders make for each Microservice of a YAML stream on
// stdin. It uses only builder functions that exist since the first release, so
// hack/first-release-templates.sh can run it inside that release's tree to record what
// existing services run with; controllers/resources compares today's builders to it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// workload is what builderdump prints for one Microservice.
type workload struct {
	Deployment  any `json:"deployment"`
	StatefulSet any `json:"statefulSet,omitempty"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "builderdump:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	dump := map[string]workload{}
	for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		ms := &v1alpha1.Microservice{}
		if err := yaml.UnmarshalStrict(doc, ms); err != nil {
			return err
		}
		w := workload{Deployment: resources.Deployment(ms)}
		if db := ms.Spec.Database; db != nil && db.Mode != v1alpha1.ModeShared {
			w.StatefulSet = resources.DatabaseStatefulSet(ms, resources.DatabaseStorage(db))
		}
		dump[ms.Name] = w
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(dump)
}
