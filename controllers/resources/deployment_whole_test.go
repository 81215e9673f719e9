package resources

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestDeploymentWhole(t *testing.T) {
	// deployment is the Deployment of the plain test Microservice, changed by mutate.
	deployment := func(mutate func(d *appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: childMeta("payments"),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: selectPayments,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: childMeta("payments").Labels},
					Spec: corev1.PodSpec{
						Containers: []corev1.Container{{
							Name:  "app",
							Image: "ghcr.io/acme/payments:1.4.2",
							Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
							SecurityContext: &corev1.SecurityContext{
								AllowPrivilegeEscalation: ptr.To(false),
								Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
						}},
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot:   ptr.To(true),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					},
				},
			},
		}
		if mutate != nil {
			mutate(d)
		}
		return d
	}
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Microservice)
		want   *appsv1.Deployment
	}{
		{"defaults", nil, deployment(nil)},
		{"autoscaled: replicas left to the autoscaler", func(ms *v1alpha1.Microservice) {
			ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 4}
		}, deployment(func(d *appsv1.Deployment) { d.Spec.Replicas = nil })},
		{"database URL first, then the user's variables", func(ms *v1alpha1.Microservice) {
			ms.Spec.Replicas = ptr.To[int32](3)
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			ms.Spec.Env = []corev1.EnvVar{{Name: "MODE", Value: "live"}}
		}, deployment(func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr.To[int32](3)
			d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{
				{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "payments-db"}, Key: "uri"}}},
				{Name: "MODE", Value: "live"},
			}
		})},
		{"restart annotation and service account reach the pod template", func(ms *v1alpha1.Microservice) {
			ms.Annotations = map[string]string{AnnotationRestartedAt: "2026-01-02T03:04:05Z", "unrelated": "x"}
			ms.Spec.ServiceAccountName = "payments-sa"
		}, deployment(func(d *appsv1.Deployment) {
			d.Spec.Template.Annotations = map[string]string{AnnotationRestartedAt: "2026-01-02T03:04:05Z"}
			d.Spec.Template.Spec.ServiceAccountName = "payments-sa"
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, Deployment(microservice(tc.mutate)))
		})
	}
}
