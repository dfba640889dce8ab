{{/* Names, labels and the pod pieces the serve and worker Deployments share. */}}

{{- define "fluxbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fluxbot.fullname" -}}
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

{{- define "fluxbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "fluxbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels; call with (dict "ctx" $ "component" "serve"). */}}
{{- define "fluxbot.selector" -}}
app.kubernetes.io/name: {{ include "fluxbot.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fluxbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fluxbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "fluxbot.scaleOut" -}}
{{- if or .Values.redis.url .Values.redis.fromSecret }}true{{ end }}
{{- end }}

{{- define "fluxbot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "fluxbot.checks" -}}
{{- if not .Values.existingSecret }}
{{- fail "existingSecret is required: the Secret with the App credentials (fluxbot app create writes one)" }}
{{- end }}
{{- if and (gt (int .Values.serve.replicas) 1) (not (include "fluxbot.scaleOut" .)) }}
{{- fail "serve.replicas > 1 needs redis.url: without Redis the job queue and cache live in one process" }}
{{- end }}
{{- end }}

{{/* The container environment; call with (dict "ctx" $ "component" "serve"). */}}
{{- define "fluxbot.env" -}}
{{- $v := .ctx.Values -}}
- name: HOME
  value: /work
- name: FLUXBOT_GITHUB_API_URL
  value: {{ $v.github.apiUrl | quote }}
{{- with $v.gitlab.url }}
- name: FLUXBOT_GITLAB_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.gitlab.projects }}
- name: FLUXBOT_GITLAB_PROJECTS
  value: {{ join "," . | quote }}
{{- end }}
- name: FLUXBOT_SCHEDULE_INTERVAL
  value: {{ $v.schedule.interval | quote }}
{{- if $v.redis.url }}
- name: FLUXBOT_REDIS_URL
  value: {{ $v.redis.url | quote }}
{{- end }}
{{- if not (include "fluxbot.scaleOut" .ctx) }}
- name: FLUXBOT_CACHE
  value: /work/cache.sqlite
{{- end }}
{{- if $v.rbac.reconcile }}
- name: FLUXBOT_KUBE_IN_CLUSTER
  value: "true"
{{- end }}
{{- range $name, $value := $v.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* The pod spec both Deployments share; call with (dict "ctx" $ "component" "serve" "args" list "resources" map "probes" bool: the serve port and its probes). */}}
{{- define "fluxbot.pod" -}}
{{- $v := .ctx.Values -}}
serviceAccountName: {{ include "fluxbot.serviceAccountName" .ctx }}
automountServiceAccountToken: {{ $v.rbac.reconcile }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ add (int $v.serve.drainTimeout) 10 }}
containers:
  - name: {{ .component }}
    image: {{ include "fluxbot.image" .ctx }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    env:
      {{- include "fluxbot.env" . | nindent 6 }}
    envFrom:
      - secretRef:
          name: {{ $v.existingSecret }}
    {{- if .probes }}
    ports:
      - name: http
        containerPort: {{ $v.serve.port }}
        protocol: TCP
    startupProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 2
      failureThreshold: 30
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 20
      timeoutSeconds: 5
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 10
      timeoutSeconds: 5
      failureThreshold: 2
    {{- end }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    resources:
      {{- toYaml .resources | nindent 6 }}
    volumeMounts:
      - name: work
        mountPath: /work
      - name: work
        mountPath: /tmp
        subPath: tmp
volumes:
  - name: work
    emptyDir:
      sizeLimit: {{ $v.workDir.sizeLimit }}
      {{- with $v.workDir.medium }}
      medium: {{ . }}
      {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
