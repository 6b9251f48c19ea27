package obscheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"

	promconfig "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // kubernetes_sd_configs in the scrape config
	"sigs.k8s.io/yaml"
)

// Collector is an OpenTelemetry Collector configuration: components by ID ("type" or
// "type/name"), each decoded into the schema of its type (components below), and the
// service's pipelines.
type Collector struct {
	Extensions map[string]json.RawMessage `json:"extensions"`
	Receivers  map[string]json.RawMessage `json:"receivers"`
	Processors map[string]json.RawMessage `json:"processors"`
	Exporters  map[string]json.RawMessage `json:"exporters"`
	Connectors map[string]json.RawMessage `json:"connectors"`
	Service    struct {
		Extensions []string            `json:"extensions"`
		Pipelines  map[string]Pipeline `json:"pipelines"`
		Telemetry  json.RawMessage     `json:"telemetry"`
	} `json:"service"`
}

// Pipeline is one of the service's pipelines.
type Pipeline struct {
	Receivers  []string `json:"receivers"`
	Processors []string `json:"processors"`
	Exporters  []string `json:"exporters"`
}

// The parts of the components' schemas the configuration uses (from each component's
// config.go in opentelemetry-collector and -contrib); a field outside them fails, to be
// added only after checking the component's documentation.
type (
	otlpReceiver struct {
		Protocols struct {
			GRPC *struct {
				Endpoint string `json:"endpoint"`
			} `json:"grpc"`
			HTTP *struct {
				Endpoint string `json:"endpoint"`
			} `json:"http"`
		} `json:"protocols"`
	}
	prometheusReceiver struct {
		Config json.RawMessage `json:"config"`
	}
	memoryLimiter struct {
		CheckInterval        string `json:"check_interval"`
		LimitMiB             int    `json:"limit_mib"`
		SpikeLimitMiB        int    `json:"spike_limit_mib"`
		LimitPercentage      int    `json:"limit_percentage"`
		SpikeLimitPercentage int    `json:"spike_limit_percentage"`
	}
	batchProcessor struct {
		SendBatchSize    int    `json:"send_batch_size"`
		SendBatchMaxSize int    `json:"send_batch_max_size"`
		Timeout          string `json:"timeout"`
	}
	tailSampling struct {
		DecisionWait            string `json:"decision_wait"`
		NumTraces               int    `json:"num_traces"`
		ExpectedNewTracesPerSec int    `json:"expected_new_traces_per_sec"`
		Policies                []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			StatusCode *struct {
				StatusCodes []string `json:"status_codes"`
			} `json:"status_code"`
			Latency *struct {
				ThresholdMs      int `json:"threshold_ms"`
				UpperThresholdMs int `json:"upper_threshold_ms"`
			} `json:"latency"`
			Probabilistic *struct {
				SamplingPercentage float64 `json:"sampling_percentage"`
				HashSalt           string  `json:"hash_salt"`
			} `json:"probabilistic"`
		} `json:"policies"`
	}
	filterProcessor struct {
		ErrorMode string `json:"error_mode"`
		Metrics   struct {
			Metric    []string `json:"metric"`
			Datapoint []string `json:"datapoint"`
		} `json:"metrics"`
	}
	awsxrayExporter struct {
		Region             string   `json:"region"`
		Endpoint           string   `json:"endpoint"`
		RoleARN            string   `json:"role_arn"`
		IndexedAttributes  []string `json:"indexed_attributes"`
		IndexAllAttributes bool     `json:"index_all_attributes"`
	}
	remoteWriteExporter struct {
		Endpoint string `json:"endpoint"`
		Auth     struct {
			Authenticator string `json:"authenticator"`
		} `json:"auth"`
		ResourceToTelemetryConversion struct {
			Enabled bool `json:"enabled"`
		} `json:"resource_to_telemetry_conversion"`
		ExternalLabels map[string]string `json:"external_labels"`
		Timeout        string            `json:"timeout"`
	}
	awsemfExporter struct {
		Region                string `json:"region"`
		Namespace             string `json:"namespace"`
		LogGroupName          string `json:"log_group_name"`
		LogStreamName         string `json:"log_stream_name"`
		DimensionRollupOption string `json:"dimension_rollup_option"`
		MetricDeclarations    []struct {
			Dimensions          [][]string `json:"dimensions"`
			MetricNameSelectors []string   `json:"metric_name_selectors"`
		} `json:"metric_declarations"`
	}
	healthCheck struct {
		Endpoint string `json:"endpoint"`
	}
	sigv4Auth struct {
		Region     string `json:"region"`
		Service    string `json:"service"`
		AssumeRole *struct {
			ARN       string `json:"arn"`
			STSRegion string `json:"sts_region"`
		} `json:"assume_role"`
	}
)

// componentTypes are the component types the configuration may use, by kind, with the
// schema each decodes into: the ADOT collector's distribution has them all.
var componentTypes = map[string]map[string]func() any{
	"extensions": {"health_check": func() any { return new(healthCheck) }, "sigv4auth": func() any { return new(sigv4Auth) }},
	"receivers":  {"otlp": func() any { return new(otlpReceiver) }, "prometheus": func() any { return new(prometheusReceiver) }},
	"processors": {
		"memory_limiter": func() any { return new(memoryLimiter) }, "batch": func() any { return new(batchProcessor) },
		"tail_sampling": func() any { return new(tailSampling) }, "filter": func() any { return new(filterProcessor) },
	},
	"exporters": {
		"awsxray": func() any { return new(awsxrayExporter) }, "prometheusremotewrite": func() any { return new(remoteWriteExporter) },
		"awsemf": func() any { return new(awsemfExporter) },
	},
}

// envRef is the collector's ${env:NAME} expansion.
var envRef = regexp.MustCompile(`\$\{env:([A-Z_][A-Z0-9_]*)\}`)

// LoadCollector reads and checks a collector configuration: every component decodes
// strictly into its type's schema, the prometheus receiver's scrape configuration is
// valid for Prometheus itself, and every pipeline and extension list names components
// that are defined. env gives a value to each ${env:NAME} it may use (others fail).
func LoadCollector(path string, env map[string]string) (*Collector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, m := range envRef.FindAllStringSubmatch(string(data), -1) {
		if _, ok := env[m[1]]; !ok {
			errs = append(errs, fmt.Errorf("${env:%s} is not one of the documented variables", m[1]))
		}
	}
	data = envRef.ReplaceAllFunc(data, func(b []byte) []byte { return []byte(env[envRef.FindStringSubmatch(string(b))[1]]) })
	var c Collector
	if err := decodeStrict(data, &c); err != nil {
		return nil, err
	}
	kinds := map[string]map[string]json.RawMessage{"extensions": c.Extensions, "receivers": c.Receivers, "processors": c.Processors, "exporters": c.Exporters}
	for kind, comps := range kinds {
		for id, raw := range comps {
			typ, _, _ := strings.Cut(id, "/")
			newV, ok := componentTypes[kind][typ]
			if !ok {
				errs = append(errs, fmt.Errorf("%s %s: type %q not expected", kind, id, typ))
				continue
			}
			v := newV()
			if len(raw) > 0 && string(raw) != "null" {
				if err := decodeJSONStrict(raw, v); err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %w", kind, id, err))
					continue
				}
			}
			if p, ok := v.(*prometheusReceiver); ok {
				if err := checkScrapeConfig(p.Config); err != nil {
					errs = append(errs, fmt.Errorf("receivers %s: %w", id, err))
				}
			}
			if ts, ok := v.(*tailSampling); ok {
				errs = append(errs, checkTailSampling(id, ts)...)
			}
		}
	}
	for _, e := range c.Service.Extensions {
		if _, ok := c.Extensions[e]; !ok {
			errs = append(errs, fmt.Errorf("service.extensions: %s is not defined", e))
		}
	}
	if len(c.Service.Pipelines) == 0 {
		errs = append(errs, errors.New("no pipelines"))
	}
	for name, p := range c.Service.Pipelines {
		sig, _, _ := strings.Cut(name, "/")
		if !slices.Contains([]string{"traces", "metrics", "logs"}, sig) {
			errs = append(errs, fmt.Errorf("pipeline %s: not traces, metrics or logs", name))
		}
		for _, ref := range []struct {
			kind string
			ids  []string
			defs map[string]json.RawMessage
		}{{"receivers", p.Receivers, c.Receivers}, {"processors", p.Processors, c.Processors}, {"exporters", p.Exporters, c.Exporters}} {
			if len(ref.ids) == 0 && ref.kind != "processors" {
				errs = append(errs, fmt.Errorf("pipeline %s: no %s", name, ref.kind))
			}
			for _, id := range ref.ids {
				if _, ok := ref.defs[id]; !ok {
					errs = append(errs, fmt.Errorf("pipeline %s: %s %s is not defined", name, ref.kind, id))
				}
			}
		}
	}
	return &c, errors.Join(errs...)
}

// checkScrapeConfig parses the prometheus receiver's config with Prometheus' own
// configuration loader (unknown fields, bad relabelling and bad service discovery fail).
func checkScrapeConfig(raw json.RawMessage) error {
	y, err := yaml.JSONToYAML(raw)
	if err != nil {
		return err
	}
	cfg, err := promconfig.Load(string(y), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if len(cfg.ScrapeConfigs) == 0 {
		return errors.New("no scrape_configs")
	}
	return nil
}

func checkTailSampling(id string, ts *tailSampling) []error {
	var errs []error
	for _, p := range ts.Policies {
		var ok bool
		switch p.Type {
		case "status_code":
			ok = p.StatusCode != nil && len(p.StatusCode.StatusCodes) > 0
			for i := 0; ok && i < len(p.StatusCode.StatusCodes); i++ {
				ok = slices.Contains([]string{"OK", "ERROR", "UNSET"}, p.StatusCode.StatusCodes[i])
			}
		case "latency":
			ok = p.Latency != nil && p.Latency.ThresholdMs > 0
		case "probabilistic":
			ok = p.Probabilistic != nil && p.Probabilistic.SamplingPercentage > 0 && p.Probabilistic.SamplingPercentage <= 100
		}
		if !ok {
			errs = append(errs, fmt.Errorf("processors %s: policy %q: type %q without its settings", id, p.Name, p.Type))
		}
	}
	return errs
}
