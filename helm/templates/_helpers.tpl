{{/* Object names: the release name, then the chart's. */}}
{{- define "ecs-reconciler.name" -}}{{ .Release.Name }}-ecs-reconciler{{- end }}

{{/* The labels that select the operator's pods: stable across upgrades. */}}
{{- define "ecs-reconciler.selectorLabels" -}}
app.kubernetes.io/name: ecs-reconciler
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ecs-reconciler.labels" -}}
{{ include "ecs-reconciler.selectorLabels" . }}
app.kubernetes.io/version: {{ include "ecs-reconciler.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "ecs-reconciler.imageTag" -}}{{ .Values.image.tag | default .Chart.AppVersion }}{{- end }}

{{/* The namespace a single-namespace install watches (and where its Role lives). */}}
{{- define "ecs-reconciler.watchNamespace" -}}{{ .Values.watch.namespace | default .Release.Namespace }}{{- end }}

{{/* Combinations of values the schema cannot express. */}}
{{- define "ecs-reconciler.validate" -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- fail "serviceMonitor.enabled needs metrics.enabled: the ServiceMonitor scrapes the metrics Service" -}}
{{- end -}}
{{- if and .Values.metrics.enabled (eq (int .Values.metrics.port) (int .Values.health.port)) -}}
{{- $message := "metrics.port and health.port are both %v: /metrics and /healthz need their own ports" -}}
{{- fail (printf $message .Values.metrics.port) -}}
{{- end -}}
{{- if and .Values.watch.allNamespaces .Values.watch.namespace -}}
{{- fail (printf "watch.namespace (%s) and watch.allNamespaces are exclusive: set one" .Values.watch.namespace) -}}
{{- end -}}
{{- end }}
