// render: renders a Helm chart's templates the way `helm template` does, for CI machines without
// a helm binary. It uses Go's text/template with the Sprig functions, as Helm does, and adds
// Helm's own: include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup (always empty:
// there is no cluster). Built by tests/chart/check_chart.py from Debian's Go packages (GOPATH mode,
// no module download).
//
// Usage: render CHART_DIR OUT_DIR [-f VALUES.yaml]... [--kube-version 1.30.0]
// Writes each rendered template to OUT_DIR/<path relative to the chart>; fails like helm on a
// template error or a `fail`.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type apiVersions []string

// Has answers .Capabilities.APIVersions.Has; only the built-in groups are known.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func readYAML(path string) map[string]interface{} {
	data, err := os.ReadFile(path)
	check(err)
	out := map[string]interface{}{}
	check(yaml.Unmarshal(data, &out))
	return out
}

// merge overlays src on dst as Helm merges -f files: maps deeply, everything else replaced;
// a null value removes the key.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: render CHART_DIR OUT_DIR [-f VALUES.yaml]... [--kube-version X.Y.Z]")
		os.Exit(2)
	}
	chartDir, outDir := os.Args[1], os.Args[2]
	kubeVersion := "1.30.0"
	values := readYAML(filepath.Join(chartDir, "values.yaml"))
	for i := 3; i < len(os.Args); i++ {
		switch os.Args[i] {
		case "-f":
			i++
			values = merge(values, readYAML(os.Args[i]))
		case "--kube-version":
			i++
			kubeVersion = strings.TrimPrefix(os.Args[i], "v")
		default:
			check(fmt.Errorf("unknown argument %q", os.Args[i]))
		}
	}
	chartMeta := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	chart := map[string]interface{}{}
	for k, v := range chartMeta {
		// Helm exposes Chart.yaml's fields capitalised: .Chart.Name, .Chart.AppVersion, ...
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	name := chart["Name"].(string)
	parts := strings.SplitN(kubeVersion, ".", 3)

	root := template.New("gotpl")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return v, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	root.Funcs(funcs).Option("missingkey=zero")

	var files []string
	check(filepath.Walk(filepath.Join(chartDir, "templates"), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, path)
		}
		return err
	}))
	sort.Strings(files)
	for _, path := range files {
		rel, _ := filepath.Rel(chartDir, path)
		data, err := os.ReadFile(path)
		check(err)
		_, err = root.New(name + "/" + filepath.ToSlash(rel)).Parse(string(data))
		check(err)
	}
	for _, path := range files {
		rel, _ := filepath.Rel(chartDir, path)
		base := filepath.Base(rel)
		if strings.HasPrefix(base, "_") {
			continue
		}
		templateName := name + "/" + filepath.ToSlash(rel)
		top := map[string]interface{}{
			"Values": values,
			"Chart":  chart,
			"Release": map[string]interface{}{
				"Name": "vtn", "Namespace": "default", "Service": "Helm",
				"IsInstall": true, "IsUpgrade": false, "Revision": 1,
			},
			"Capabilities": map[string]interface{}{
				"KubeVersion": map[string]interface{}{
					"Version": "v" + kubeVersion, "Major": parts[0], "Minor": parts[1],
					"GitVersion": "v" + kubeVersion,
				},
				"APIVersions": apiVersions{"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1",
					"policy/v1", "autoscaling/v2"},
			},
			"Template": map[string]interface{}{
				"Name": templateName, "BasePath": name + "/templates",
			},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, templateName, top); err != nil {
			check(fmt.Errorf("%s: %w", rel, err))
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		target := filepath.Join(outDir, rel)
		check(os.MkdirAll(filepath.Dir(target), 0o755))
		check(os.WriteFile(target, []byte(out), 0o644))
	}
}
