package main

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// kind is what one service of a mix is.
type kind string

const (
	kindStatic     kind = "static"
	kindAutoscaled kind = "autoscaled"
	kindDedicated  kind = "dedicated"
	kindShared     kind = "shared"
)

// mix says which kind service i is.
type mix struct {
	name string
	kind func(i int) kind
}

func mixNamed(name string) (mix, error) {
	switch name {
	case "static":
		return mix{name: name, kind: func(int) kind { return kindStatic }}, nil
	case "realistic":
		// 40% static, 30% autoscaled, 15% dedicated and 15% shared databases.
		return mix{name: name, kind: func(i int) kind {
			switch r := i % 20; {
			case r < 8:
				return kindStatic
			case r < 14:
				return kindAutoscaled
			case r < 17:
				return kindDedicated
			default:
				return kindShared
			}
		}}, nil
	}
	return mix{}, fmt.Errorf("unknown mix %q (static, realistic)", name)
}

func needsServer(mixes []string) bool {
	for _, name := range mixes {
		m, err := mixNamed(name)
		if err != nil {
			continue
		}
		for i := range 20 {
			if m.kind(i) == kindShared {
				return true
			}
		}
	}
	return false
}

// count is how many of the first n services are of kind k.
func (m mix) count(n int, k kind) int {
	c := 0
	for i := range n {
		if m.kind(i) == k {
			c++
		}
	}
	return c
}

// microservice is service i of kind k in namespace ns, with image tag tag.
func microservice(ns string, i int, k kind, replicas int32) *v1alpha1.Microservice {
	ms := &v1alpha1.Microservice{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Microservice"},
		ObjectMeta: metav1.ObjectMeta{Name: "svc-" + strconv.Itoa(i), Namespace: ns},
		Spec: v1alpha1.MicroserviceSpec{
			Image: "ghcr.io/acme/svc:1",
			Ports: []v1alpha1.ServicePort{{Name: "http", Port: 8080}},
		},
	}
	switch k {
	case kindAutoscaled:
		// A CPU request, as any autoscaled service has: without one the autoscaler
		// cannot compute utilization.
		ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr.To[int32](80)}
		ms.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	case kindDedicated:
		ms.Spec.Replicas = ptr.To(replicas)
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeDedicated, Storage: ptr.To(resource.MustParse("1Gi"))}
	case kindShared:
		ms.Spec.Replicas = ptr.To(replicas)
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: benchServer}}
	default:
		ms.Spec.Replicas = ptr.To(replicas)
	}
	return ms
}

// defaulted is ms as the API server stores it (CRD defaults applied), from a dry-run
// create, with a made-up UID: what kubeship's builders see.
func (b *bench) defaulted(ctx context.Context, ms *v1alpha1.Microservice) (*v1alpha1.Microservice, error) {
	out := ms.DeepCopy()
	if err := b.c.Create(ctx, out, client.DryRunAll); err != nil {
		return nil, fmt.Errorf("defaulting %s: %w", ms.Name, err)
	}
	out.UID = uuid.NewUUID()
	return out, nil
}
