package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// sharedServer is the local PostgreSQL the realistic mix's shared databases live on.
type sharedServer struct {
	cfg   dbadmin.Config
	admin dbadmin.Admin
}

// startPostgres starts the cluster's local PostgreSQL (hack/cluster.sh postgres) and
// registers it as DatabaseServer bench-pg, with its admin Secret in the operator's
// namespace.
func (b *bench) startPostgres(ctx context.Context) (*sharedServer, error) {
	out, err := b.sh(ctx, "hack/cluster.sh", "postgres", fmt.Sprint(postgresPort))
	if err != nil {
		return nil, err
	}
	dir := strings.TrimSpace(lastLine(out))
	user, err := os.ReadFile(filepath.Join(dir, "username"))
	if err != nil {
		return nil, err
	}
	password, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		return nil, err
	}
	s := &sharedServer{cfg: dbadmin.Config{
		Engine: dbadmin.EnginePostgres, Host: "127.0.0.1", Port: postgresPort,
		Username: strings.TrimSpace(string(user)), Password: strings.TrimSpace(string(password)),
		SSLMode: dbadmin.SSLRequire, ConnectTimeout: 10 * time.Second,
	}}
	if s.admin, err = dbadmin.Connect(ctx, s.cfg); err != nil {
		return nil, fmt.Errorf("logging in to the local PostgreSQL: %w", err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: adminSecret, Namespace: operatorNS},
		StringData: map[string]string{"username": s.cfg.Username, "password": s.cfg.Password},
	}
	if err := client.IgnoreAlreadyExists(b.c.Create(ctx, secret)); err != nil {
		return nil, err
	}
	server := &v1alpha1.DatabaseServer{
		ObjectMeta: metav1.ObjectMeta{Name: benchServer},
		Spec: v1alpha1.DatabaseServerSpec{
			Engine: v1alpha1.EnginePostgres, Host: "127.0.0.1", Port: postgresPort,
			AdminSecretRef:    v1alpha1.SecretReference{Namespace: operatorNS, Name: adminSecret},
			SSLMode:           v1alpha1.SSLRequire,
			AllowedNamespaces: &metav1.LabelSelector{MatchLabels: map[string]string{serverLabel: benchServer}},
		},
	}
	if err := client.IgnoreAlreadyExists(b.c.Create(ctx, server)); err != nil {
		return nil, err
	}
	return s, nil
}

// waitServerReady waits until the manager has checked the DatabaseServer.
func (b *bench) waitServerReady(ctx context.Context) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		s := &v1alpha1.DatabaseServer{}
		if err := b.c.Get(ctx, client.ObjectKey{Name: benchServer}, s); err != nil {
			return false, err
		}
		for _, c := range s.Status.Conditions {
			if c.Type == v1alpha1.ConditionReady && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.Generation {
				return true, nil
			}
		}
		return false, nil
	})
}

// waitScalingActive waits until every autoscaled Microservice in ns reports
// ScalingActive=True (its autoscaler has metrics), at most three minutes.
func (b *bench) waitScalingActive(ctx context.Context, ns string) error {
	left := 0
	err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &v1alpha1.MicroserviceList{}
		if err := b.c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		left = 0
		for _, ms := range list.Items {
			if ms.Spec.Scaling != nil && !meta.IsStatusConditionTrue(ms.Status.Conditions, v1alpha1.ConditionScalingActive) {
				left++
			}
		}
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d autoscaled Microservices without ScalingActive=True: %w", left, err)
	}
	return nil
}
