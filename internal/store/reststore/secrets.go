package reststore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// Secrets keeps named secrets in skopos_secrets over REST
// (visitorid.Secrets); pb must hold superuser credentials.
type Secrets struct{ pb *pbrest.Client }

// NewSecrets returns the skopos_secrets store reached through pb.
func NewSecrets(pb *pbrest.Client) Secrets { return Secrets{pb: pb} }

type secretRow struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (s Secrets) find(ctx context.Context, name string) (secretRow, error) {
	var row secretRow
	err := s.pb.FirstRecord(ctx, schema.Secrets, pbrest.Filter("name = {:n}", pbrest.Params{"n": name}), &row)
	return row, err
}

// GetOrCreate returns the value under name, storing value when there is
// none; when another instance created it first (the unique index refuses
// the second), its value is read back.
func (s Secrets) GetOrCreate(ctx context.Context, name, value string) (string, error) {
	var createErr error
	for range 2 {
		row, err := s.find(ctx, name)
		if err == nil {
			return row.Value, nil
		}
		if !errors.Is(err, pbrest.ErrNotFound) {
			return "", err
		}
		createErr = s.pb.CreateRecord(ctx, schema.Secrets, map[string]string{"name": name, "value": value}, nil)
		if createErr == nil {
			return value, nil
		}
		if !errors.Is(createErr, pbrest.ErrBadRequest) {
			return "", createErr
		}
	}
	return "", fmt.Errorf("skopos_secrets: neither read nor created %q: %w", name, createErr)
}

// Names lists the names that start with prefix (at most 500: day salts
// are deleted after two days).
func (s Secrets) Names(ctx context.Context, prefix string) ([]string, error) {
	var rows []secretRow
	_, err := s.pb.ListRecords(ctx, schema.Secrets, pbrest.ListQuery{
		Filter: pbrest.Filter("name ~ {:p}", pbrest.Params{"p": prefix + "%"}), PerPage: 500, SkipTotal: true,
	}, &rows)
	var names []string
	for _, r := range rows {
		if strings.HasPrefix(r.Name, prefix) {
			names = append(names, r.Name)
		}
	}
	return names, err
}

// Delete removes name.
func (s Secrets) Delete(ctx context.Context, name string) error {
	row, err := s.find(ctx, name)
	if errors.Is(err, pbrest.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.pb.DeleteRecord(ctx, schema.Secrets, row.ID)
	if errors.Is(err, pbrest.ErrNotFound) {
		return nil
	}
	return err
}
