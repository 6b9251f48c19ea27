{{/* Name of an object of one component (a service or "gateway"). */}}
{{- define "healthcore.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "healthcore.labels" -}}
app.kubernetes.io/name: healthcore
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "healthcore.selector" -}}
app.kubernetes.io/name: healthcore
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "healthcore.image" -}}
{{- if or (not .Values.image.tag) (eq .Values.image.tag "latest") -}}
{{- fail "image.tag: name a version or digest, never latest" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}

{{/* The Deployments: every service of values.services, then the gateway, then the partner edge. */}}
{{- define "healthcore.components" -}}
{{- $out := list -}}
{{- $over := .Values.overrides | default dict -}}
{{- range .Values.services -}}
{{- $out = append $out (dict "name" .name "port" .port "spec" (merge (dict) (index $over .name | default dict) .)) -}}
{{- end -}}
{{- $out = append $out (dict "name" "gateway" "port" .Values.gateway.port "spec" (merge (dict) (index $over "gateway" | default dict) .Values.gateway)) -}}
{{- if .Values.partnerEdge.enabled -}}
{{- $out = append $out (dict "name" "partner-edge" "port" .Values.partnerEdge.port "spec" (merge (dict) (index $over "partner-edge" | default dict) .Values.partnerEdge)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "healthcore.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
