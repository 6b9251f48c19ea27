package obscheck

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// FluentBit is a Fluent Bit YAML configuration.
type FluentBit struct {
	Service  map[string]any   `json:"service"`
	Parsers  []map[string]any `json:"parsers"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs"`
		Filters []map[string]any `json:"filters"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"pipeline"`
}

// fluentBitKeys are the properties the configuration may set, per section or plugin
// (Fluent Bit's documentation of each; lower case, as the YAML format spells them). A
// key outside them (misspelt, or of another plugin) fails: Fluent Bit itself would
// refuse to start.
var fluentBitKeys = map[string][]string{
	"service": {"flush", "log_level", "http_server", "http_listen", "http_port", "health_check", "storage.path", "storage.sync",
		"storage.backlog.mem_limit", "storage.metrics", "grace", "daemon", "parsers_file"},
	"parser":     {"name", "format", "regex", "time_key", "time_format", "time_keep", "decode_field_as", "types"},
	"input:tail": {"name", "tag", "path", "exclude_path", "multiline.parser", "db", "db.locking", "mem_buf_limit", "storage.type", "skip_long_lines", "refresh_interval", "read_from_head", "buffer_max_size"},
	"filter:kubernetes": {"name", "match", "kube_url", "kube_tag_prefix", "merge_log", "merge_log_key", "keep_log", "labels", "annotations",
		"k8s-logging.parser", "k8s-logging.exclude", "buffer_size", "use_kubelet"},
	"filter:parser":      {"name", "match", "key_name", "parser", "reserve_data", "preserve_key"},
	"filter:rewrite_tag": {"name", "match", "rule", "emitter_name", "emitter_storage.type", "emitter_mem_buf_limit"},
	"output:cloudwatch_logs": {"name", "match", "region", "log_group_name", "log_group_template", "log_stream_name", "log_stream_prefix",
		"log_stream_template", "log_key", "log_format", "auto_create_group", "log_retention_days", "role_arn", "endpoint", "retry_limit"},
	"output:opensearch": {"name", "match", "host", "port", "tls", "aws_auth", "aws_region", "aws_role_arn", "index", "logstash_format",
		"logstash_prefix", "logstash_dateformat", "suppress_type_name", "replace_dots", "trace_error", "retry_limit", "buffer_size", "generate_id",
		"id_key", "write_operation"},
}

// cloudWatchRetention are the retention periods CloudWatch Logs accepts, in days.
var cloudWatchRetention = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// LoadFluentBit reads and checks a Fluent Bit YAML configuration: the sections and
// every plugin's properties are known, filters name parsers that are defined, and every
// tag the inputs and rewrite_tag filters produce reaches a CloudWatch Logs and an
// OpenSearch output (and every output's match some tag).
func LoadFluentBit(file string) (*FluentBit, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var fb FluentBit
	if err := decodeStrict(data, &fb); err != nil {
		return nil, err
	}
	var errs []error
	check := func(kind string, m map[string]any) {
		for k := range m {
			if !slices.Contains(fluentBitKeys[kind], k) {
				errs = append(errs, fmt.Errorf("%s: unknown property %q", kind, k))
			}
		}
	}
	check("service", fb.Service)
	parsers := map[string]bool{}
	for _, p := range fb.Parsers {
		check("parser", p)
		parsers[fmt.Sprint(p["name"])] = true
	}
	var tags []string // patterns the records carry, "kube.*"
	for _, in := range fb.Pipeline.Inputs {
		check("input:"+fmt.Sprint(in["name"]), in)
		tags = append(tags, fmt.Sprint(in["tag"]))
	}
	for _, f := range fb.Pipeline.Filters {
		name := fmt.Sprint(f["name"])
		check("filter:"+name, f)
		switch name {
		case "parser":
			if !parsers[fmt.Sprint(f["parser"])] {
				errs = append(errs, fmt.Errorf("filter parser: parser %v is not defined", f["parser"]))
			}
		case "rewrite_tag":
			// rule: $KEY REGEX NEW_TAG KEEP; the new tag is a prefix before $TAG.
			rule := strings.Fields(fmt.Sprint(f["rule"]))
			if len(rule) != 4 || !strings.HasPrefix(rule[0], "$") || !slices.Contains([]string{"true", "false"}, rule[3]) {
				errs = append(errs, fmt.Errorf("filter rewrite_tag: rule %q is not `$KEY REGEX NEW_TAG KEEP`", f["rule"]))
				continue
			}
			prefix, ok := strings.CutSuffix(rule[2], "$TAG")
			if !ok {
				errs = append(errs, fmt.Errorf("filter rewrite_tag: new tag %q does not end in $TAG", rule[2]))
				continue
			}
			for _, t := range tags[:len(tags):len(tags)] {
				if m, _ := path.Match(fmt.Sprint(f["match"]), strings.TrimSuffix(t, "*")+"x"); m {
					tags = append(tags, prefix+t)
				}
			}
		}
	}
	reached := map[string][]string{} // tag → output plugins
	for _, o := range fb.Pipeline.Outputs {
		name := fmt.Sprint(o["name"])
		check("output:"+name, o)
		if name == "cloudwatch_logs" {
			if d, ok := o["log_retention_days"].(float64); !ok || !slices.Contains(cloudWatchRetention, int(d)) {
				errs = append(errs, fmt.Errorf("output cloudwatch_logs %v: log_retention_days %v is not a value CloudWatch accepts", o["log_group_name"], o["log_retention_days"]))
			}
		}
		matched := false
		for _, t := range tags {
			if m, _ := path.Match(fmt.Sprint(o["match"]), strings.TrimSuffix(t, "*")+"x"); m && o["match"] != nil {
				reached[t] = append(reached[t], name)
				matched = true
			}
		}
		if !matched {
			errs = append(errs, fmt.Errorf("output %s: match %v matches no tag (%v)", name, o["match"], tags))
		}
	}
	for _, t := range tags {
		if !slices.Contains(reached[t], "cloudwatch_logs") || !slices.Contains(reached[t], "opensearch") {
			errs = append(errs, fmt.Errorf("tag %s reaches %v, want cloudwatch_logs and opensearch", t, reached[t]))
		}
	}
	return &fb, errors.Join(errs...)
}
