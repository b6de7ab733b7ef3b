package api

import (
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestOpenAPIMatchesRoutes fails when a registered route is missing from
// openapi.yaml, when the spec documents a route the router does not serve,
// or when the documented access level differs from the route's policy.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var spec struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPIDocument(), &spec); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", spec.OpenAPI)
	}
	documented := map[string]string{} // "METHOD /path" -> x-parley-access
	for path, ops := range spec.Paths {
		for method, op := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete", "head", "options":
			default:
				continue // path-level parameters, summary, ...
			}
			access, _ := op["x-parley-access"].(string)
			documented[strings.ToUpper(method)+" "+path] = access
		}
	}
	served := map[string]string{}
	for _, rt := range New(Deps{Limits: Limits{MaxBodyBytes: 1 << 20, MaxImportBytes: 1 << 20}}).Routes() {
		served[rt.Method+" "+rt.Path] = rt.Policy.Access.String()
	}
	var missing, extra, wrong []string
	for key, access := range served {
		doc, ok := documented[key]
		switch {
		case !ok:
			missing = append(missing, key)
		case doc != access:
			wrong = append(wrong, key+": spec says "+doc+", route is "+access)
		}
	}
	for key := range documented {
		if _, ok := served[key]; !ok {
			extra = append(extra, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(wrong)
	for _, k := range missing {
		t.Errorf("route %s is not in openapi.yaml", k)
	}
	for _, k := range extra {
		t.Errorf("openapi.yaml documents %s, which no route serves", k)
	}
	for _, k := range wrong {
		t.Errorf("access level mismatch: %s", k)
	}
}
