package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
	"github.com/kubeship/kubeship/internal/naming"
)

// writeFloor writes, for one (defaulted) Microservice, the very objects kubeship's
// builders make for it, directly: one write per object, in the order a kubeship pass
// writes them, without the Microservice, its owner references or its status. For a
// shared database it makes the database and role on the server first, as kubeship does.
func (b *bench) writeFloor(ctx context.Context, ms *v1alpha1.Microservice, k kind) error {
	ns := ms.Namespace
	apply := metav1.ApplyOptions{FieldManager: floorFieldOwner, Force: true}
	switch k {
	case kindDedicated:
		creds := resources.DedicatedCredentials(ms, password())
		if _, err := b.cs.CoreV1().Secrets(ns).Create(ctx, resources.CredentialsSecret(ms, creds), metav1.CreateOptions{}); err != nil {
			return err
		}
		svc := resources.DatabaseService(ms)
		unowned(svc.ObjectMetaApplyConfiguration)
		if _, err := b.cs.CoreV1().Services(ns).Apply(ctx, svc, apply); err != nil {
			return err
		}
		sts := resources.DatabaseStatefulSet(ms, resources.DatabaseStorage(ms.Spec.Database))
		unowned(sts.ObjectMetaApplyConfiguration)
		if _, err := b.cs.AppsV1().StatefulSets(ns).Apply(ctx, sts, apply); err != nil {
			return err
		}
		np := resources.DatabaseNetworkPolicy(ms)
		unowned(np.ObjectMetaApplyConfiguration)
		if _, err := b.cs.NetworkingV1().NetworkPolicies(ns).Apply(ctx, np, apply); err != nil {
			return err
		}
	case kindShared:
		engine := string(v1alpha1.EnginePostgres)
		creds := resources.Credentials{
			Engine: v1alpha1.EnginePostgres, Host: b.pg.cfg.Host, Port: int32(b.pg.cfg.Port),
			Database: naming.Database(engine, ns, ms.Name), Username: naming.Role(engine, ns, ms.Name), Password: password(),
		}
		if _, err := b.cs.CoreV1().Secrets(ns).Create(ctx, resources.CredentialsSecret(ms, creds), metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := b.pg.admin.EnsureDatabase(ctx, creds.Database, creds.Username, creds.Password, string(ms.UID)); err != nil {
			return fmt.Errorf("database for %s: %w", ms.Name, err)
		}
	}
	deploy := resources.Deployment(ms)
	if ms.Spec.Scaling != nil {
		deploy.Spec.WithReplicas(resources.MinReplicas(ms))
	}
	unowned(deploy.ObjectMetaApplyConfiguration)
	if _, err := b.cs.AppsV1().Deployments(ns).Apply(ctx, deploy, apply); err != nil {
		return err
	}
	svc := resources.Service(ms)
	unowned(svc.ObjectMetaApplyConfiguration)
	if _, err := b.cs.CoreV1().Services(ns).Apply(ctx, svc, apply); err != nil {
		return err
	}
	if hpa := resources.HorizontalPodAutoscaler(ms); hpa != nil {
		unowned(hpa.ObjectMetaApplyConfiguration)
		if _, err := b.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply(ctx, hpa, apply); err != nil {
			return err
		}
	}
	if pdb := resources.PodDisruptionBudget(ms); pdb != nil {
		unowned(pdb.ObjectMetaApplyConfiguration)
		if _, err := b.cs.PolicyV1().PodDisruptionBudgets(ns).Apply(ctx, pdb, apply); err != nil {
			return err
		}
	}
	return nil
}

// unowned drops the owner reference to the Microservice, which the floor does not
// create: the garbage collector would delete objects owned by a missing owner.
func unowned(meta *metav1ac.ObjectMetaApplyConfiguration) {
	if meta != nil {
		meta.OwnerReferences = nil
	}
}

func password() string {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}
