{{/*
The chart name, or nameOverride.
*/}}
{{- define "latchkey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: <release>-<chart>, or just <release> when it
already contains the chart name, or fullnameOverride. Kept to 52 characters so the
suffixed names (-migrate, -config) stay within 63.
*/}}
{{- define "latchkey.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "latchkey.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "latchkey.labels" -}}
helm.sh/chart: {{ include "latchkey.chart" . }}
app.kubernetes.io/name: {{ include "latchkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: latchkey
{{- end }}

{{/*
Labels that select the release's pods (server and migration alike).
*/}}
{{- define "latchkey.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "latchkey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels that select the server pods only (never the migration Job's pod).
*/}}
{{- define "latchkey.selectorLabels" -}}
{{ include "latchkey.releaseSelectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "latchkey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "latchkey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "latchkey.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The Secret the server reads: the existing one, or the chart's.
*/}}
{{- define "latchkey.secretName" -}}
{{- default (include "latchkey.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The Secret the migration Job reads: the existing one, or the chart's hook Secret (the
chart's main Secret does not exist yet when a pre-install hook runs).
*/}}
{{- define "latchkey.migrationSecretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-migrate" (include "latchkey.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Whether a secret is provided: "true" or "". Takes (list $ "redisUrl").
In existingSecret mode a secret is provided when its key name is not empty; otherwise when
its value is not empty. masterKey and databaseUrl are always referenced, so a missing one
fails the pod with a message that names the setting.
*/}}
{{- define "latchkey.hasSecret" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- if $root.Values.secrets.existingSecret }}
{{- if index $root.Values.secrets.existingSecretKeys $name }}true{{ end }}
{{- else }}
{{- if index $root.Values.secrets $name }}true{{ end }}
{{- end }}
{{- end }}

{{/*
Key of a secret in the Secret the pods read. Takes (list $ "redisUrl").
*/}}
{{- define "latchkey.secretKey" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- if $root.Values.secrets.existingSecret }}
{{- index $root.Values.secrets.existingSecretKeys $name }}
{{- else }}
{{- get (dict "masterKey" "master-key" "platformToken" "platform-token" "databaseUrl" "database-url" "migrationDatabaseUrl" "migration-database-url" "redisUrl" "redis-url") $name }}
{{- end }}
{{- end }}

{{/*
An env entry from a secret. Takes (list $ "ENV_NAME" "valueName" "secretName").
*/}}
{{- define "latchkey.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 3 }}
      key: {{ include "latchkey.secretKey" (list $root (index . 2)) }}
{{- end }}

{{/*
Environment shared by the server and the migration Job.
*/}}
{{- define "latchkey.commonEnv" -}}
- name: LATCHKEY_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
- name: LATCHKEY_AUTO_MIGRATE
  value: "false"
{{- end }}

{{/*
Checks settings that cannot work together, so a bad combination fails at `helm install`
instead of in a running cluster.
*/}}
{{- define "latchkey.validate" -}}
{{- $v := .Values }}
{{- $redis := include "latchkey.hasSecret" (list . "redisUrl") }}
{{- if and (or $v.autoscaling.enabled (gt (int $v.replicaCount) 1)) (not $redis) }}
{{- fail "latchkey: more than one replica needs Redis (secrets.redisUrl, or secrets.existingSecretKeys.redisUrl with secrets.existingSecret): the in-process store is per pod, so passkey ceremonies, rate limits and revocations would not be shared" }}
{{- end }}
{{- if $v.secrets.existingSecret }}
{{- if not $v.secrets.existingSecretKeys.masterKey }}
{{- fail "latchkey: secrets.existingSecretKeys.masterKey must name the key holding the master key" }}
{{- end }}
{{- if not $v.secrets.existingSecretKeys.databaseUrl }}
{{- fail "latchkey: secrets.existingSecretKeys.databaseUrl must name the key holding the database URL" }}
{{- end }}
{{- end }}
{{- $reserved := list "bind" "data_dir" "database_url" "migration_database_url" "redis_url" "master_key" "master_key_file" "platform_token" "auto_migrate" "demo_tenant" }}
{{- range $key, $_ := $v.config.extra }}
{{- if has $key $reserved }}
{{- fail (printf "latchkey: config.extra.%s is set by the chart (secrets go in secrets.*, the port in containerPort; the migration Job migrates)" $key) }}
{{- end }}
{{- end }}
{{- if $v.autoscaling.enabled }}
{{- if gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas) }}
{{- fail "latchkey: autoscaling.minReplicas is greater than autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
{{- if le (int $v.terminationGracePeriodSeconds) (add (int $v.preStopSleepSeconds) 40) }}
{{- fail "latchkey: terminationGracePeriodSeconds must exceed preStopSleepSeconds + 40 (30 s for in-flight requests, then up to 10 s for the CRM delivery in hand), or work is cut off" }}
{{- end }}
{{- if not (has $v.logFormat (list "json" "text")) }}
{{- fail "latchkey: logFormat must be json or text" }}
{{- end }}
{{- end }}
