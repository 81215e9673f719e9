{{/* The chart name, or nameOverride. */}}
{{- define "kubeship.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: the release name, with the chart name unless it
already contains it; "kubeship" for a release named kubeship, as in dist/install.yaml. */}}
{{- define "kubeship.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "kubeship.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "kubeship.labels" -}}
app.kubernetes.io/name: {{ include "kubeship.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of the manager pods: no chart or app version, which belong to the objects. */}}
{{- define "kubeship.podLabels" -}}
app.kubernetes.io/name: {{ include "kubeship.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "kubeship.selectorLabels" . }}
{{- end }}

{{/* The manager pods' selector, the same as dist/install.yaml's (a Deployment's selector
cannot change, so an install made with kubectl can be taken over by the chart). */}}
{{- define "kubeship.selectorLabels" -}}
control-plane: controller-manager
{{- end }}

{{- define "kubeship.serviceAccountName" -}}
{{ include "kubeship.fullname" . }}-controller-manager
{{- end }}

{{- define "kubeship.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
