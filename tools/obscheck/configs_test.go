package obscheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// collectorEnv are the variables collector.yaml documents, with sample values.
var collectorEnv = map[string]string{
	"AWS_REGION":           "sa-east-1",
	"AMP_REMOTE_WRITE_URL": "https://aps-workspaces.sa-east-1.amazonaws.com/workspaces/ws-0/api/v1/remote_write",
	"HEALTHCORE_NAMESPACE": "healthcore",
}

// TestCollector_DecodesStrictlyAndWiresTheSignals: collector.yaml decodes into the
// components' schemas, its scrape configuration is valid for Prometheus, its pipelines
// name defined components, memory_limiter comes first and batch last in each, traces
// are tail-sampled (errors, slow, a ratio) to X-Ray and metrics reach Amazon Managed
// Prometheus signed with SigV4.
func TestCollector_DecodesStrictlyAndWiresTheSignals(t *testing.T) {
	c, err := LoadCollector(filepath.Join(Dir, "collector.yaml"), collectorEnv)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range c.Service.Pipelines {
		if len(p.Processors) < 2 || p.Processors[0] != "memory_limiter" || p.Processors[len(p.Processors)-1] != "batch" {
			t.Errorf("pipeline %s: processors %v, want memory_limiter first and batch last", name, p.Processors)
		}
	}
	tr := c.Service.Pipelines["traces"]
	if strings.Join(tr.Exporters, ",") != "awsxray" || !slices.Contains(tr.Processors, "tail_sampling") || !slices.Contains(tr.Receivers, "otlp") {
		t.Errorf("traces pipeline %+v, want otlp → tail_sampling → awsxray", tr)
	}
	var ts tailSampling
	if err := decodeJSONStrict(c.Processors["tail_sampling"], &ts); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, p := range ts.Policies {
		types[p.Type] = true
	}
	if !types["status_code"] || !types["latency"] || !types["probabilistic"] {
		t.Errorf("tail_sampling policies %v, want errors, latency and a ratio", types)
	}
	m := c.Service.Pipelines["metrics"]
	if !slices.Contains(m.Receivers, "prometheus") || !slices.Contains(m.Exporters, "prometheusremotewrite") {
		t.Errorf("metrics pipeline %+v, want prometheus → prometheusremotewrite", m)
	}
	var rw remoteWriteExporter
	if err := decodeJSONStrict(c.Exporters["prometheusremotewrite"], &rw); err != nil || rw.Auth.Authenticator != "sigv4auth" {
		t.Errorf("prometheusremotewrite auth %q (%v), want sigv4auth", rw.Auth.Authenticator, err)
	}
}

// TestCollector_RefusesMistakes: the checks catch a misspelt field, an undefined
// component in a pipeline, an unexpected component type, an undocumented variable and
// an invalid scrape configuration.
func TestCollector_RefusesMistakes(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(Dir, "collector.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"misspelt field":        {"check_interval: 1s", "check_intervall: 1s"},
		"undefined in pipeline": {"exporters: [ awsxray ]", "exporters: [ awsxray/other ]"},
		"unknown type":          {"  awsxray:\n", "  xray:\n"},
		"undocumented env":      {"${env:AWS_REGION}\n    service: aps", "${env:REGION}\n    service: aps"},
		"bad scrape config":     {"action: keep", "action: keepit"},
		"bad tail policy":       {"status_codes: [ ERROR ]", "status_codes: [ FAILED ]"},
	} {
		if !strings.Contains(string(orig), edit[0]) {
			t.Fatalf("%s: %q not in collector.yaml", name, edit[0])
		}
		f := filepath.Join(t.TempDir(), "collector.yaml")
		if err := os.WriteFile(f, []byte(strings.Replace(string(orig), edit[0], edit[1], 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCollector(f, collectorEnv); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFluentBit_ShipsEveryStreamToCloudWatchAndOpenSearch: fluent-bit.yaml decodes, its
// plugins set only known properties, and the containers, access and audit streams each
// reach CloudWatch Logs and OpenSearch (daily indices), the audit one kept longest and
// deduplicated by export_id.
func TestFluentBit_ShipsEveryStreamToCloudWatchAndOpenSearch(t *testing.T) {
	fb, err := LoadFluentBit(filepath.Join(Dir, "fluent-bit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	retention := map[string]float64{}
	prefixes := map[string]bool{}
	for _, o := range fb.Pipeline.Outputs {
		switch o["name"] {
		case "cloudwatch_logs":
			retention[o["log_group_name"].(string)] = o["log_retention_days"].(float64)
		case "opensearch":
			if o["logstash_format"] != true || o["logstash_dateformat"] != "%Y.%m.%d" {
				t.Errorf("opensearch %v: not daily indices", o["logstash_prefix"])
			}
			prefixes[o["logstash_prefix"].(string)] = true
			// The audit lines arrive at least once: one document per export_id.
			if o["logstash_prefix"] == "healthcore-audit" && (o["id_key"] != "export_id" || o["write_operation"] != "index") {
				t.Errorf("opensearch healthcore-audit: id_key %v, write_operation %v; want export_id, index", o["id_key"], o["write_operation"])
			}
		}
	}
	if len(retention) != 3 || !(retention["/healthcore/audit"] > retention["/healthcore/access"] && retention["/healthcore/access"] > retention["/healthcore/containers"]) {
		t.Errorf("CloudWatch retention %v, want audit > access > containers", retention)
	}
	for _, p := range []string{"healthcore-logs", "healthcore-access", "healthcore-audit"} {
		if !prefixes[p] {
			t.Errorf("no OpenSearch index %s-*", p)
		}
	}
	// The ISM policies keep each index family as long as its CloudWatch group.
	if _, err := LoadISM(filepath.Join(Dir, "opensearch-ism.json"), map[string]int{
		"healthcore-logs-*": 30, "healthcore-access-*": 365, "healthcore-audit-*": 1827,
	}); err != nil {
		t.Error(err)
	}
}

// TestFluentBit_RefusesMistakes: a misspelt property, a stream without an OpenSearch
// output and a retention CloudWatch does not offer all fail.
func TestFluentBit_RefusesMistakes(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(Dir, "fluent-bit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"misspelt property":  {"merge_log: off", "merge_logs: off"},
		"stream not shipped": {"      match: audit.*\n      host:", "      match: audits.*\n      host:"},
		"bad retention":      {"log_retention_days: 1827", "log_retention_days: 1800"},
		"undefined parser":   {"parser: healthcore_json", "parser: json"},
	} {
		if !strings.Contains(string(orig), edit[0]) {
			t.Fatalf("%s: %q not in fluent-bit.yaml", name, edit[0])
		}
		f := filepath.Join(t.TempDir(), "fluent-bit.yaml")
		if err := os.WriteFile(f, []byte(strings.Replace(string(orig), edit[0], edit[1], 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadFluentBit(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDashboards_QueryOnlyRealMetrics: every panel query of every dashboard parses as
// PromQL and names only metrics the platform registers or the rules record.
func TestDashboards_QueryOnlyRealMetrics(t *testing.T) {
	rgs, err := LoadRules(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	m, rec := loadMetrics(t), Recorded(rgs)
	files, _ := filepath.Glob(filepath.Join(Dir, "grafana", "*.json"))
	if len(files) < 2 {
		t.Fatalf("dashboards %v, want platform-overview and booking-saga", files)
	}
	uids := map[string]string{}
	for _, f := range files {
		d, n, err := LoadDashboard(f, m, rec)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share the uid %s", other, f, d.UID)
		}
		uids[d.UID] = f
		t.Logf("%s: %d queries", filepath.Base(f), n)
	}
	if _, _, err := LoadDashboard(writeTemp(t, `{"uid":"x","title":"x","panels":[{"title":"p","targets":[{"expr":"rate(healthcore_rpc_duration_second_count[$__rate_interval])"}]}]}`), m, rec); err == nil {
		t.Error("a misspelt metric in a panel was accepted")
	}
}

func writeTemp(t *testing.T, s string) string {
	f := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
