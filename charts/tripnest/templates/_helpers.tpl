{{/* Names: the operator's objects are "<fullname>-operator"; cluster-scoped ones also carry
the namespace, so two releases in two namespaces never collide. */}}
{{- define "tripnest.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "tripnest.operator" -}}{{ include "tripnest.fullname" . }}-operator{{- end -}}
{{- define "tripnest.clusterName" -}}{{ printf "%s-%s" .Release.Namespace (include "tripnest.operator" .) | trunc 63 | trimSuffix "-" }}{{- end -}}

{{- define "tripnest.labels" -}}
app.kubernetes.io/part-of: tripnest
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tripnest.operatorSelector" -}}
app.kubernetes.io/name: tripnest-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* tripnest.image: (dict "root" $ "name" "booking") → <registry>/<name>:<tag>. */}}
{{- define "tripnest.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" (.root.Values.image.registry | trimSuffix "/") .name $tag -}}
{{- end -}}

{{/* Names of the Services this release has in its namespace (the operator's, one per enabled
service, and the chart's own), as a YAML list: an externalServices entry must not take one. */}}
{{- define "tripnest.serviceNames" -}}
{{- range $name, $svc := .Values.services }}
{{- if ne (toString $svc.enabled) "false" }}
- {{ $name }}
{{- end }}
{{- end }}
{{- if .Values.web.enabled }}
- web
{{- end }}
{{- if eq .Values.gateway.service.type "NodePort" }}
- gateway-public
{{- end }}
{{- end -}}

{{/* A public Service's type and port 80 → the pods' "http" port: (dict "at" "web.service"
"service" .Values.web.service). A nodePort only means something on a NodePort Service. */}}
{{- define "tripnest.publicSpec" -}}
{{- if and .service.nodePort (ne .service.type "NodePort") }}
{{- fail (printf "%s.nodePort is set but %s.type is %s; set type NodePort, or drop nodePort" .at .at .service.type) }}
{{- end -}}
type: {{ .service.type }}
ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
    {{- with .service.nodePort }}
    nodePort: {{ . }}
    {{- end }}
{{- end -}}

{{/* image.pullSecrets as "a, b" (for the ServiceDeployments and the roll jobs). */}}
{{- define "tripnest.pullSecretNames" -}}
{{- $names := list -}}
{{- range .Values.image.pullSecrets }}{{ $names = append $names .name }}{{ end -}}
{{- join ", " $names -}}
{{- end -}}

{{/* What each service connects to: the keys of its "<service>-env" Secret come from these. */}}
{{- define "tripnest.needs" -}}
gateway: [redis]
user: [postgres, kafka, internal]
booking: [postgres, kafka, internal]
payment: [postgres, kafka, internal]
notification: [postgres, kafka, smtp, sms]
search: [kafka, mongodb, redis]
recommendation: [kafka, mongodb, redis]
review: [postgres, kafka]
{{- end -}}

{{/* Plain settings of each service (its ServiceDeployment's env, i.e. its ConfigMap):
the in-cluster addresses of its peers, reached through their Services on port 80. Topics are
the operator's job, so consumers do not create missing ones. With a topic prefix, the consumer
group is prefixed too, so releases sharing one Kafka never split each other's partitions; the
MongoDB database and Redis key prefixes keep them apart on shared MongoDB and Redis. */}}
{{- define "tripnest.serviceEnv" -}}
{{- $name := .name -}}
{{- $needs := index (include "tripnest.needs" . | fromYaml) $name -}}
APP_LOG__FORMAT: json
APP_KAFKA__CREATE_MISSING_TOPICS: "false"
{{- $c := .root.Values.connections }}
{{- if and (has "kafka" $needs) .root.Values.kafka.topicPrefix }}
APP_KAFKA__GROUP_ID: {{ printf "%s%s" .root.Values.kafka.topicPrefix $name | quote }}
{{- end }}
{{- if and (has "mongodb" $needs) $c.mongodb.databasePrefix }}
APP_MONGODB_DATABASE: {{ printf "%s%s" $c.mongodb.databasePrefix $name | quote }}
{{- end }}
{{- if and (eq $name "gateway") $c.redis.keyPrefix }}
APP_REDIS_KEY_PREFIX: {{ printf "%sgateway:" $c.redis.keyPrefix | quote }}
{{- end }}
{{- if and (eq $name "search") $c.redis.keyPrefix }}
APP_CACHE_NAMESPACE: {{ printf "%ssearch:%ssearch" $c.redis.keyPrefix ($c.mongodb.databasePrefix | default "") | quote }}
{{- end }}
{{- if and (eq $name "recommendation") $c.redis.keyPrefix }}
APP_CATALOG_LOG_PREFIX: {{ printf "%srecommendation:%srecommendation:catalog" $c.redis.keyPrefix ($c.mongodb.databasePrefix | default "") | quote }}
{{- end }}
{{- if eq $name "gateway" }}
{{- range $peer := list "user" "booking" "notification" "search" "recommendation" "review" }}
APP_UPSTREAMS__{{ upper $peer }}: http://{{ $peer }}
{{- end }}
APP_CORS__ALLOWED_ORIGINS: {{ printf "[%s]" (join ", " .root.Values.gateway.corsAllowedOrigins) | quote }}
{{- end }}
{{- if has $name (list "booking" "notification" "recommendation" "review") }}
APP_JWKS_URL: http://user/.well-known/jwks.json
{{- end }}
{{- if eq $name "search" }}
APP_BOOKING_URL: http://booking
{{- end }}
{{- end -}}

{{/* The data of "<service>-env": (dict "root" $ "name" "booking" "token" $token). */}}
{{- define "tripnest.serviceSecret" -}}
{{- $c := .root.Values.connections -}}
{{- $needs := index (include "tripnest.needs" . | fromYaml) .name -}}
{{- if has "postgres" $needs }}
{{- $opts := ternary (printf "?%s" $c.postgres.options) "" (ne $c.postgres.options "") }}
APP_DATABASE_URL: {{ printf "postgres://%s:%s@%s:%v/%s%s%s" (urlquery $c.postgres.username) (urlquery $c.postgres.password) $c.postgres.host $c.postgres.port ($c.postgres.databasePrefix | default "") .name $opts | quote }}
{{- end }}
{{- if has "kafka" $needs }}
APP_KAFKA__BOOTSTRAP_SERVERS: {{ $c.kafka.bootstrapServers | quote }}
{{- end }}
{{- if has "internal" $needs }}
APP_INTERNAL_TOKEN: {{ .token | quote }}
{{- end }}
{{- if has "redis" $needs }}
APP_REDIS_URL: {{ $c.redis.url | quote }}
{{- end }}
{{- if has "mongodb" $needs }}
APP_MONGODB_URI: {{ $c.mongodb.uri | quote }}
{{- end }}
{{- if has "smtp" $needs }}
APP_SMTP_URL: {{ $c.smtp.url | quote }}
APP_MAIL_FROM: {{ $c.smtp.from | quote }}
{{- with $c.smtp.username }}
APP_SMTP_USERNAME: {{ . | quote }}
{{- end }}
{{- with $c.smtp.password }}
APP_SMTP_PASSWORD: {{ . | quote }}
{{- end }}
{{- end }}
{{- if and (has "sms" $needs) $c.sms.url }}
APP_SMS_URL: {{ $c.sms.url | quote }}
{{- with $c.sms.token }}
APP_SMS_TOKEN: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The internal token: the value given, else the one already installed, else a new one. */}}
{{- define "tripnest.internalToken" -}}
{{- if .Values.connections.internalToken -}}
{{- .Values.connections.internalToken -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace "booking-env" -}}
{{- if and $existing $existing.data (hasKey $existing.data "APP_INTERNAL_TOKEN") -}}
{{- index $existing.data "APP_INTERNAL_TOKEN" | b64dec -}}
{{- else -}}
{{- randAlphaNum 40 -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* What the operator may do to the resources it reconciles and their children (no
wildcards, no Secrets, no deletes except the optional HPA/PDB it removes when a spec drops
them; Pods only read, to report stuck containers). The one copy of these rules:
operator/tests/cluster/rbac.rs renders them with `helm template` and runs the operator with
nothing more. */}}
{{- define "tripnest.operatorRules" -}}
# The resources it reconciles; Hotels also get `patch` for the finalizer.
- apiGroups: [tripnest.io]
  resources: [hotels]
  verbs: [get, list, watch, patch]
- apiGroups: [tripnest.io]
  resources: [inventories, servicedeployments]
  verbs: [get, list, watch]
- apiGroups: [tripnest.io]
  resources: [hotels/status, inventories/status, servicedeployments/status]
  verbs: [patch]
# Children, written by server-side apply (create covers the first apply).
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, patch]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [services, configmaps]
  verbs: [get, list, watch, create, patch]
# The Pods of its Deployments: read, never written, to report stuck containers.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
# Optional children, deleted when the spec stops asking for them.
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
# Events it records about the resources.
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}
