{{/*
Expand the name of the chart.
*/}}
{{- define "openadr3-vtn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "openadr3-vtn.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "openadr3-vtn.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels of every resource.
*/}}
{{- define "openadr3-vtn.labels" -}}
helm.sh/chart: {{ include "openadr3-vtn.chart" . }}
app.kubernetes.io/name: {{ include "openadr3-vtn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels of the server pods. The component label keeps the migration Job's pods out of
the Service, the PodDisruptionBudget and the Deployment's selector.
*/}}
{{- define "openadr3-vtn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "openadr3-vtn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "openadr3-vtn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "openadr3-vtn.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The container image: repository@digest when a digest is given, else repository:tag (tag
defaulting to the chart's appVersion).
*/}}
{{- define "openadr3-vtn.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Name of the chart's Secret (JWT key, bootstrap client secret, PostgreSQL URL).
*/}}
{{- define "openadr3-vtn.secretName" -}}
{{- include "openadr3-vtn.fullname" . }}
{{- end }}

{{/*
Name of the hook Secret that carries the PostgreSQL URL to the migration Job (the chart's own
Secret does not exist yet when pre-install hooks run).
*/}}
{{- define "openadr3-vtn.migrationSecretName" -}}
{{- printf "%s-migration" (include "openadr3-vtn.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of the PVC holding the SQLite database.
*/}}
{{- define "openadr3-vtn.pvcName" -}}
{{- default (printf "%s-data" (include "openadr3-vtn.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/*
"true" when the database is PostgreSQL, "" otherwise (use with `if`).
*/}}
{{- define "openadr3-vtn.isPostgres" -}}
{{- if eq .Values.database.type "postgres" }}true{{- end }}
{{- end }}

{{/*
"true" when the chart's Secret holds the JWT signing key.
*/}}
{{- define "openadr3-vtn.chartHoldsJwtSecret" -}}
{{- if and (not .Values.auth.existingSecret) (or .Values.auth.jwtSecret .Values.auth.generateJwtSecret) }}true{{- end }}
{{- end }}

{{/*
"true" when the chart's Secret holds the bootstrap client secret.
*/}}
{{- define "openadr3-vtn.chartHoldsBootstrapSecret" -}}
{{- if and (not .Values.auth.existingSecret) .Values.auth.bootstrapClientSecret }}true{{- end }}
{{- end }}

{{/*
"true" when the chart's Secret holds the PostgreSQL URL.
*/}}
{{- define "openadr3-vtn.chartHoldsDatabaseUrl" -}}
{{- if and (include "openadr3-vtn.isPostgres" .) (not .Values.database.existingSecret) }}true{{- end }}
{{- end }}

{{/*
"true" when the chart's Secret holds the secret keys (VTN_SECRET_KEYS).
*/}}
{{- define "openadr3-vtn.chartHoldsSecretKeys" -}}
{{- if and (not .Values.secretKeys.existingSecret) (trim .Values.secretKeys.keys) }}true{{- end }}
{{- end }}

{{/*
"true" when the secret keys come from a Secret (the chart's or an existing one); "" when the
server keeps its own key file (SQLite only).
*/}}
{{- define "openadr3-vtn.hasSecretKeys" -}}
{{- if or .Values.secretKeys.existingSecret (include "openadr3-vtn.chartHoldsSecretKeys" .) }}true{{- end }}
{{- end }}

{{/*
"true" when the chart renders its Secret at all.
*/}}
{{- define "openadr3-vtn.createSecret" -}}
{{- if or (include "openadr3-vtn.chartHoldsJwtSecret" .) (include "openadr3-vtn.chartHoldsBootstrapSecret" .) (include "openadr3-vtn.chartHoldsDatabaseUrl" .) (include "openadr3-vtn.chartHoldsSecretKeys" .) }}true{{- end }}
{{- end }}

{{/*
"true" when the migration Job needs the hook Secret (the PostgreSQL URL or the secret keys come
from the values).
*/}}
{{- define "openadr3-vtn.createMigrationSecret" -}}
{{- if and (include "openadr3-vtn.isPostgres" .) .Values.migration.enabled (or (include "openadr3-vtn.chartHoldsDatabaseUrl" .) (include "openadr3-vtn.chartHoldsSecretKeys" .)) }}true{{- end }}
{{- end }}

{{/*
Checks of the values that Kubernetes would not catch, or would catch too late. Included by
the Deployment, so every render runs them.
*/}}
{{- define "openadr3-vtn.validateValues" -}}
{{- $type := .Values.database.type }}
{{- if not (has $type (list "sqlite" "postgres")) }}
{{- fail (printf "database.type must be \"sqlite\" or \"postgres\", not %q" (toString $type)) }}
{{- end }}
{{- if eq $type "sqlite" }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d, but database.type=sqlite supports exactly one replica (the database is a file on one volume). Use database.type=postgres to run several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled=true needs database.type=postgres: with sqlite the VTN runs exactly one replica." }}
{{- end }}
{{- if .Values.podDisruptionBudget.enabled }}
{{- fail "podDisruptionBudget.enabled=true needs database.type=postgres: a single SQLite replica cannot be kept available during a disruption." }}
{{- end }}
{{- else }}
{{- if and (not .Values.database.existingSecret) (not .Values.database.url) }}
{{- fail "database.type=postgres needs the connection URL: set database.existingSecret (a Secret with key database.existingSecretKey) or database.url." }}
{{- end }}
{{- if and .Values.database.url (not .Values.database.existingSecret) (not (regexMatch "^postgres(ql)?://" .Values.database.url)) }}
{{- fail "database.url must start with postgres:// or postgresql://" }}
{{- end }}
{{- if not (include "openadr3-vtn.hasSecretKeys" .) }}
{{- fail "database.type=postgres needs the secret keys that seal stored secrets, shared by every replica: set secretKeys.existingSecret (a Secret with key secretKeys.existingSecretKey) or secretKeys.keys (create a key with `openadr3-vtn secrets generate-key`)." }}
{{- end }}
{{- end }}
{{- if and (not .Values.auth.existingSecret) .Values.auth.jwtSecret (lt (len .Values.auth.jwtSecret) 32) }}
{{- fail "auth.jwtSecret must be at least 32 characters long (or leave it empty: the server then signs tokens with EdDSA keys it keeps in the database)." }}
{{- end }}
{{- if not (has .Values.config.logFormat (list "json" "text")) }}
{{- fail "config.logFormat must be \"json\" or \"text\"." }}
{{- end }}
{{- if not (has .Values.preStopMethod (list "auto" "sleepAction" "exec")) }}
{{- fail "preStopMethod must be \"auto\", \"sleepAction\" or \"exec\"." }}
{{- end }}
{{- range $key, $min := dict "tokenRatePerClient" 1 "tokenRatePerAddress" 1 "tokenFailuresPerClient" 1 "tokenFailuresPerAddress" 1 "jwksRefreshSeconds" 0 "jwksTimeoutSeconds" 1 }}
{{- $v := index $.Values.auth $key }}
{{- if or (and (kindIs "string" $v) (not (regexMatch "^[0-9]+$" $v))) (lt (int64 $v) (int64 $min)) }}
{{- fail (printf "auth.%s must be a whole number, at least %d (not %v)." $key $min $v) }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) }}
{{- fail "ingress.enabled=true needs at least one entry in ingress.hosts." }}
{{- end }}
{{- $_ := include "openadr3-vtn.trustForwardedFor" . }}
{{- end }}

{{/*
VTN_TRUST_FORWARDED_FOR, "true" or "false": config.trustForwardedFor when it is a boolean (or
the string "true"/"false"), else whether the Ingress is enabled, as every request then comes
from the ingress controller.
*/}}
{{- define "openadr3-vtn.trustForwardedFor" -}}
{{- $value := .Values.config.trustForwardedFor }}
{{- if kindIs "bool" $value }}
{{- $value }}
{{- else if or (kindIs "invalid" $value) (eq (toString $value) "") }}
{{- if .Values.ingress.enabled }}true{{ else }}false{{ end }}
{{- else if has (toString $value) (list "true" "false") }}
{{- toString $value }}
{{- else }}
{{- fail (printf "config.trustForwardedFor must be true, false or empty (automatic), not %q." (toString $value)) }}
{{- end }}
{{- end }}

{{/*
Environment variables of the database connection and of the secret keys that seal what it
stores, shared by the server and the migration Job. The argument is a dict with "root" (the
chart context) and "urlSecret" (name of the Secret with the PostgreSQL URL and the secret keys
when the chart provides them).
*/}}
{{- define "openadr3-vtn.databaseEnv" -}}
{{- $root := .root -}}
- name: DATABASE_URL
{{- if include "openadr3-vtn.isPostgres" $root }}
  valueFrom:
    secretKeyRef:
      {{- if $root.Values.database.existingSecret }}
      name: {{ $root.Values.database.existingSecret }}
      key: {{ $root.Values.database.existingSecretKey }}
      {{- else }}
      name: {{ .urlSecret }}
      key: database-url
      {{- end }}
{{- else }}
  value: "sqlite:///data/openadr3-vtn.db"
{{- end }}
- name: VTN_DB_MAX_CONNECTIONS
  value: {{ $root.Values.database.maxConnections | int64 | quote }}
- name: VTN_DB_ACQUIRE_TIMEOUT_SECONDS
  value: {{ $root.Values.database.acquireTimeoutSeconds | int64 | quote }}
{{- if include "openadr3-vtn.hasSecretKeys" $root }}
- name: VTN_SECRET_KEYS
  valueFrom:
    secretKeyRef:
      {{- if $root.Values.secretKeys.existingSecret }}
      name: {{ $root.Values.secretKeys.existingSecret }}
      key: {{ $root.Values.secretKeys.existingSecretKey }}
      {{- else }}
      name: {{ .urlSecret }}
      key: secret-keys
      {{- end }}
{{- end }}
{{- end }}

{{/*
The preStop hook that pauses before SIGTERM, so endpoints drain first.
*/}}
{{- define "openadr3-vtn.preStop" -}}
{{- $seconds := int .Values.preStopSleepSeconds }}
{{- $native := or (eq .Values.preStopMethod "sleepAction") (and (eq .Values.preStopMethod "auto") (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version)) -}}
preStop:
  {{- if $native }}
  sleep:
    seconds: {{ $seconds }}
  {{- else }}
  exec:
    command:
      - sleep
      - {{ $seconds | quote }}
  {{- end }}
{{- end }}
