{{/*
Names, labels and the pieces every pod shares. Labels app.kubernetes.io/{name,instance,component}
are what `kubectl herald` and the NetworkPolicies select on.
*/}}

{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: `<fullname>-<component>`. */}}
{{- define "herald.componentName" -}}
{{- printf "%s-%s" (include "herald.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "herald.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "user-handler"). */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every label of one component's objects. */}}
{{- define "herald.labels" -}}
{{ include "herald.selectorLabels" . }}
app.kubernetes.io/part-of: herald
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "herald.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations of an object, when there are any: commonAnnotations plus `extra`. */}}
{{- define "herald.annotations" -}}
{{- $all := merge (dict) (.extra | default (dict)) .root.Values.commonAnnotations -}}
{{- if $all -}}
annotations:
  {{- toYaml $all | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* A Herald image: `<repository>/<component>:<tag>` or `@<digest>`. */}}
{{- define "herald.image" -}}
{{- $image := .root.Values.image -}}
{{- if $image.digest -}}
{{- printf "%s/%s@%s" $image.repository .component $image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $image.repository .component (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "herald.secretName" -}}
{{- default (include "herald.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Whether the chart writes the Secret itself. */}}
{{- define "herald.createSecret" -}}
{{- if and .Values.secrets.create (not .Values.secrets.existingSecret) -}}true{{- end -}}
{{- end -}}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "herald.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "herald.postgresClusterName" -}}
{{- include "herald.componentName" (dict "root" . "component" "postgresql") -}}
{{- end -}}

{{- define "herald.redisHost" -}}
{{- include "herald.componentName" (dict "root" . "component" "redis") -}}
{{- end -}}

{{- define "herald.inferenceName" -}}
{{- include "herald.componentName" (dict "root" . "component" "inference") -}}
{{- end -}}

{{/* AI_BASE_URL: the value given, else the in-cluster vLLM when it is deployed. */}}
{{- define "herald.aiBaseUrl" -}}
{{- if .Values.config.AI_BASE_URL -}}
{{- .Values.config.AI_BASE_URL -}}
{{- else if .Values.inference.enabled -}}
{{- printf "http://%s:8000/v1" (include "herald.inferenceName" .) -}}
{{- end -}}
{{- end -}}

{{/* COST_HOURLY_USD: inference replicas times their price, plus the other components given. */}}
{{- define "herald.costHourlyUsd" -}}
{{- $pairs := list -}}
{{- if and .Values.inference.enabled (gt (float64 .Values.inference.hourlyPriceUsd) 0.0) -}}
{{- $pairs = append $pairs (printf "inference=%s" (mulf .Values.inference.hourlyPriceUsd .Values.inference.replicas | toString)) -}}
{{- end -}}
{{- range $component, $dollars := .Values.monitoring.cost.extraHourlyUsd -}}
{{- $pairs = append $pairs (printf "%s=%s" $component (toString $dollars)) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The restricted Pod Security profile: pod level. */}}
{{- define "herald.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The restricted Pod Security profile: container level. */}}
{{- define "herald.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "herald.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets -}}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* One env entry read from Herald's Secret. */}}
{{- define "herald.secretEnv" -}}
- name: {{ .key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/*
DATABASE_URL: from CloudNativePG's application Secret (`<cluster>-app`, key `uri`) when the chart
runs the Cluster, else from Herald's Secret.
*/}}
{{- define "herald.databaseUrlEnv" -}}
{{- if eq .Values.postgresql.mode "cloudnativepg" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.postgresClusterName" . }}-app
      key: uri
{{- else -}}
{{ include "herald.secretEnv" (dict "root" . "key" "DATABASE_URL") }}
{{- end }}
{{- end -}}

{{/*
REDIS_URL: for the in-cluster Redis it is composed by the kubelet from REDIS_PASSWORD
(dependent environment variables), so the password stays in the Secret and out of the pod spec.
*/}}
{{- define "herald.redisUrlEnv" -}}
{{- if eq .Values.redis.mode "internal" -}}
{{ include "herald.secretEnv" (dict "root" . "key" "REDIS_PASSWORD") }}
- name: REDIS_URL
  value: redis://:$(REDIS_PASSWORD)@{{ include "herald.redisHost" . }}:6379/0
{{- else -}}
{{ include "herald.secretEnv" (dict "root" . "key" "REDIS_URL") }}
{{- end }}
{{- end -}}

{{/* Environment both services share: storage, Telegram, the LLM. */}}
{{- define "herald.serviceEnv" -}}
{{ include "herald.secretEnv" (dict "root" . "key" "TELEGRAM_BOT_TOKEN") }}
{{ include "herald.secretEnv" (dict "root" . "key" "AI_API_KEY" "optional" true) }}
{{ include "herald.databaseUrlEnv" . }}
{{ include "herald.redisUrlEnv" . }}
{{- end -}}

{{/* The writable /tmp every pod gets, the root filesystem being read-only. */}}
{{- define "herald.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .sizeLimit | default "64Mi" }}
{{- end -}}

{{/* Checksums that roll the pods when their configuration or Secret changes. */}}
{{- define "herald.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap-herald.yaml") . | sha256sum }}
{{- if include "herald.createSecret" . }}
checksum/secret: {{ include (print .Template.BasePath "/secret-herald.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{/* Checks of combinations the schema cannot express; each message says what to change. */}}
{{- define "herald.validate" -}}
{{- if and (eq .Values.config.TELEGRAM_MODE "polling") .Values.userHandler.enabled (or .Values.userHandler.autoscaling.enabled .Values.userHandler.keda.enabled (gt (int .Values.userHandler.replicas) 1)) -}}
{{- fail "config.TELEGRAM_MODE=polling allows one getUpdates caller per bot: set userHandler.replicas=1, userHandler.autoscaling.enabled=false and userHandler.keda.enabled=false (or use webhook mode)" -}}
{{- end -}}
{{- if and .Values.userHandler.ingress.enabled (not .Values.userHandler.ingress.host) -}}
{{- fail "userHandler.ingress.enabled needs userHandler.ingress.host: the public host name of publicUrl" -}}
{{- end -}}
{{- if and .Values.publicUrl (not (hasPrefix "https://" .Values.publicUrl)) -}}
{{- fail "publicUrl must start with https://: Telegram only calls https webhooks" -}}
{{- end -}}
{{- if le (int .Values.userHandler.terminationGracePeriodSeconds) (add 25 (int .Values.userHandler.preStopSleepSeconds) | int) -}}
{{- fail (printf "userHandler.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds (%v) plus Herald's 25 s shutdown cap, or the kubelet kills pods mid-shutdown" .Values.userHandler.terminationGracePeriodSeconds .Values.userHandler.preStopSleepSeconds) -}}
{{- end -}}
{{- if le (int .Values.newsPublisher.terminationGracePeriodSeconds) 25 -}}
{{- fail "newsPublisher.terminationGracePeriodSeconds must exceed Herald's 25 s shutdown cap" -}}
{{- end -}}
{{- if and .Values.postgresql.cloudnativepg.backup.enabled (eq .Values.postgresql.mode "cloudnativepg") (not .Values.postgresql.cloudnativepg.backup.destinationPath) -}}
{{- fail "postgresql.cloudnativepg.backup.enabled needs postgresql.cloudnativepg.backup.destinationPath (s3://bucket/path)" -}}
{{- end -}}
{{- if and .Values.backup.enabled (not .Values.backup.s3Url) -}}
{{- fail "backup.enabled needs backup.s3Url (s3://bucket/prefix)" -}}
{{- end -}}
{{- end -}}

{{/*
When the migrations run. With an external Postgres, before anything else on install and
upgrade. With CloudNativePG the database only exists once the Cluster does, so on install
they run after it is created (the Job retries until Postgres answers) and before every upgrade.
*/}}
{{- define "herald.migrationsHook" -}}
{{- if eq .Values.postgresql.mode "cloudnativepg" -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/* Whether the migrations Job gets its own hook copy of DATABASE_URL (see secret-migrations.yaml). */}}
{{- define "herald.migrationsSecret" -}}
{{- if and .Values.migrations.enabled (eq .Values.postgresql.mode "external") (include "herald.createSecret" .) -}}true{{- end -}}
{{- end -}}

{{/* A NetworkPolicy peer: the pods of one Herald component. */}}
{{- define "herald.peer" -}}
- podSelector:
    matchLabels:
      {{- include "herald.selectorLabels" . | nindent 6 }}
{{- end -}}

{{/* Egress to Postgres: the CloudNativePG instances, or the external server's addresses. */}}
{{- define "herald.egressPostgres" -}}
{{- if eq .Values.postgresql.mode "cloudnativepg" -}}
- to:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "herald.postgresClusterName" . }}
  ports:
    - protocol: TCP
      port: 5432
{{- else -}}
- to:
    {{- range .Values.networkPolicy.externalPostgresql.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ .Values.networkPolicy.externalPostgresql.port }}
{{- end }}
{{- end -}}

{{/* Egress to Redis: the in-cluster StatefulSet, or the external server's addresses. */}}
{{- define "herald.egressRedis" -}}
{{- if eq .Values.redis.mode "internal" -}}
- to:
    {{- include "herald.peer" (dict "root" . "component" "redis") | nindent 4 }}
  ports:
    - protocol: TCP
      port: 6379
{{- else -}}
- to:
    {{- range .Values.networkPolicy.externalRedis.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ .Values.networkPolicy.externalRedis.port }}
{{- end }}
{{- end -}}

{{/* Egress to the in-cluster vLLM. */}}
{{- define "herald.egressInference" -}}
{{- if .Values.inference.enabled -}}
- to:
    {{- include "herald.peer" (dict "root" . "component" "inference") | nindent 4 }}
  ports:
    - protocol: TCP
      port: 8000
{{- end }}
{{- end -}}

{{/*
Egress to the internet on 80 and 443, never to private, link-local (cloud metadata) or
shared ranges: Telegram, news sites, a hosted LLM, Hugging Face, an object store.
*/}}
{{- define "herald.egressInternet" -}}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          {{- toYaml .Values.networkPolicy.internetExcept | nindent 10 }}
    - ipBlock:
        cidr: ::/0
        except:
          - fc00::/7
          - fe80::/10
          - ::1/128
  ports:
    - protocol: TCP
      port: 443
    - protocol: TCP
      port: 80
{{- end -}}

{{/* Ingress from Prometheus to a port. */}}
{{- define "herald.ingressPrometheus" -}}
- from:
    - namespaceSelector:
        {{- toYaml .root.Values.networkPolicy.prometheus.namespaceSelector | nindent 8 }}
      podSelector:
        {{- toYaml .root.Values.networkPolicy.prometheus.podSelector | nindent 8 }}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end -}}

{{/* Whether the admin API lists the backups: admin API and backup CronJob both on. */}}
{{- define "herald.adminListsBackups" -}}
{{- if and .Values.admin.enabled .Values.backup.enabled -}}true{{- end -}}
{{- end -}}

{{/*
Whether the admin API also starts backup Jobs (`admin.backupJobs`): the user-handler then gets a
service-account token and a Role that may read the backup CronJob and create Jobs.
*/}}
{{- define "herald.adminRunsBackups" -}}
{{- if and (include "herald.adminListsBackups" .) .Values.admin.backupJobs -}}true{{- end -}}
{{- end -}}
