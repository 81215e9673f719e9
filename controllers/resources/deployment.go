package resources

import (
	corev1 "k8s.io/api/core/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

const (
	// ContainerName is the name of the application container in every pod.
	ContainerName = "app"
	// EnvDatabaseURL carries the database connection URI into the application container.
	EnvDatabaseURL = "DATABASE_URL"
	// AnnotationRestartedAt is the annotation that, set on a Microservice, is copied to its pod template so that
	// changing it rolls the pods (what `kubectl rollout restart` does to a Deployment).
	AnnotationRestartedAt = "apps.kubeship.dev/restartedAt"
)

// Deployment returns the Deployment that runs ms. It holds spec.replicas only when
// kubeship owns the count (no spec.scaling); otherwise the autoscaler owns it.
func Deployment(ms *v1alpha1.Microservice) *appsv1ac.DeploymentApplyConfiguration {
	spec := appsv1ac.DeploymentSpec().
		WithSelector(labelSelector(ms)).
		WithTemplate(podTemplate(ms))
	if r := Replicas(ms); r != nil {
		spec.WithReplicas(*r)
	}
	d := appsv1ac.Deployment(ms.Name, ms.Namespace).WithSpec(spec)
	d.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return d
}

func podTemplate(ms *v1alpha1.Microservice) *corev1ac.PodTemplateSpecApplyConfiguration {
	meta := corev1ac.PodTemplateSpec().WithLabels(Labels(ms))
	if at, ok := ms.Annotations[AnnotationRestartedAt]; ok {
		meta.WithAnnotations(map[string]string{AnnotationRestartedAt: at})
	}
	pod := corev1ac.PodSpec().
		WithContainers(container(ms)).
		WithSecurityContext(podSecurityContext(ms))
	if ms.Spec.ServiceAccountName != "" {
		pod.WithServiceAccountName(ms.Spec.ServiceAccountName)
	}
	return meta.WithSpec(pod)
}

func container(ms *v1alpha1.Microservice) *corev1ac.ContainerApplyConfiguration {
	c := corev1ac.Container().
		WithName(ContainerName).
		WithImage(ms.Spec.Image).
		WithSecurityContext(containerSecurityContext())
	if len(ms.Spec.Command) > 0 {
		c.WithCommand(ms.Spec.Command...)
	}
	if len(ms.Spec.Args) > 0 {
		c.WithArgs(ms.Spec.Args...)
	}
	for _, p := range Ports(ms) {
		c.WithPorts(corev1ac.ContainerPort().WithName(p.Name).WithContainerPort(p.Port).WithProtocol(p.Protocol))
	}
	for _, e := range env(ms) {
		c.WithEnv(convert[corev1ac.EnvVarApplyConfiguration](e))
	}
	for _, e := range ms.Spec.EnvFrom {
		c.WithEnvFrom(convert[corev1ac.EnvFromSourceApplyConfiguration](e))
	}
	if len(ms.Spec.Resources.Limits) > 0 || len(ms.Spec.Resources.Requests) > 0 || len(ms.Spec.Resources.Claims) > 0 {
		c.WithResources(convert[corev1ac.ResourceRequirementsApplyConfiguration](ms.Spec.Resources))
	}
	if p := ms.Spec.LivenessProbe; p != nil {
		c.WithLivenessProbe(convert[corev1ac.ProbeApplyConfiguration](p))
	}
	if p := ms.Spec.ReadinessProbe; p != nil {
		c.WithReadinessProbe(convert[corev1ac.ProbeApplyConfiguration](p))
	}
	if p := ms.Spec.StartupProbe; p != nil {
		c.WithStartupProbe(convert[corev1ac.ProbeApplyConfiguration](p))
	}
	return c
}

// env puts DATABASE_URL first, so the user's own variables can refer to it as
// $(DATABASE_URL); a user-defined DATABASE_URL replaces it.
func env(ms *v1alpha1.Microservice) []corev1.EnvVar {
	var out []corev1.EnvVar
	if ms.Spec.Database != nil && !definesEnv(ms.Spec.Env, EnvDatabaseURL) {
		out = append(out, corev1.EnvVar{
			Name: EnvDatabaseURL,
			ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: DatabaseSecretName(ms)},
				Key:                  SecretKeyURI,
			}},
		})
	}
	return append(out, ms.Spec.Env...)
}

func definesEnv(vars []corev1.EnvVar, name string) bool {
	for _, v := range vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

// podSecurityContext is the Pod Security Standards restricted profile's pod-level part,
// unless the user replaced it.
func podSecurityContext(ms *v1alpha1.Microservice) *corev1ac.PodSecurityContextApplyConfiguration {
	if ms.Spec.SecurityContext != nil {
		return convert[corev1ac.PodSecurityContextApplyConfiguration](ms.Spec.SecurityContext)
	}
	return corev1ac.PodSecurityContext().
		WithRunAsNonRoot(true).
		WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))
}

// containerSecurityContext is the restricted profile's container-level part; it always applies.
func containerSecurityContext() *corev1ac.SecurityContextApplyConfiguration {
	return corev1ac.SecurityContext().
		WithAllowPrivilegeEscalation(false).
		WithCapabilities(corev1ac.Capabilities().WithDrop("ALL"))
}
