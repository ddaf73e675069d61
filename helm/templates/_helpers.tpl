{{- define "ecs-reconciler.name" -}}{{ .Release.Name }}-ecs-reconciler{{- end }}
{{- define "ecs-reconciler.labels" -}}app.kubernetes.io/name: ecs-reconciler
app.kubernetes.io/instance: {{ .Release.Name }}{{- end }}
