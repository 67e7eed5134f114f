package validate

import (
	"errors"
	"testing"
)

// engagementBody is what the browser script sends when a page is hidden
// or left.
const engagementBody = `{"type":"engagement","url":"https://example.com/pricing","referrer":"","screenWidth":1536,"screenHeight":864,"language":"en-GB","pid":"0a1b2c3d4e5f6g7h","engagedMs":7012,"scroll":64}`

func engagement(f fields) fields {
	return with(fields{"type": TypeEngagement, "pid": "0a1b2c3d", "engagedMs": 0, "scroll": 0}, f)
}

func TestDecodeEngagement(t *testing.T) {
	t.Parallel()
	p, err := Decode([]byte(engagementBody))
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != TypeEngagement || p.PID != "0a1b2c3d4e5f6g7h" || p.EngagedMs != 7012 || p.Scroll != 64 || p.Path != "/pricing" {
		t.Fatalf("engagement payload %+v", p)
	}

	tests := []struct {
		name    string
		body    fields
		wantErr string // field of the expected FieldError; "" for success
		want    Payload
	}{
		// pid: 8..32 characters [0-9a-z], both sides of each bound
		{name: "pid 8", body: engagement(fields{"pid": rep("a", 8)}), want: Payload{PID: rep("a", 8)}},
		{name: "pid 7", body: engagement(fields{"pid": rep("a", 7)}), wantErr: "pid"},
		{name: "pid 32", body: engagement(fields{"pid": rep("9", 32)}), want: Payload{PID: rep("9", 32)}},
		{name: "pid 33", body: engagement(fields{"pid": rep("9", 33)}), wantErr: "pid"},
		{name: "pid upper case", body: engagement(fields{"pid": "ABCDEFGH"}), wantErr: "pid"},
		{name: "pid with a dash", body: engagement(fields{"pid": "abcd-efgh"}), wantErr: "pid"},
		{name: "pid number", body: engagement(fields{"pid": 12345678}), wantErr: "pid"},
		{name: "pid missing", body: engagement(fields{"pid": absent{}}), wantErr: "pid"},
		{name: "pid null", body: engagement(fields{"pid": nil}), wantErr: "pid"},
		// engagedMs: 0..86 400 000, whole numbers
		{name: "engagedMs 0", body: engagement(fields{"engagedMs": 0}), want: Payload{PID: "0a1b2c3d"}},
		{name: "engagedMs -1", body: engagement(fields{"engagedMs": -1}), wantErr: "engagedMs"},
		{name: "engagedMs 86400000", body: engagement(fields{"engagedMs": 86_400_000}), want: Payload{PID: "0a1b2c3d", EngagedMs: MaxEngagedMs}},
		{name: "engagedMs 86400001", body: engagement(fields{"engagedMs": 86_400_001}), wantErr: "engagedMs"},
		{name: "engagedMs 1e3", body: engagement(fields{"engagedMs": rawNumber("1e3")}), want: Payload{PID: "0a1b2c3d", EngagedMs: 1000}},
		{name: "engagedMs fraction", body: engagement(fields{"engagedMs": 1.5}), wantErr: "engagedMs"},
		{name: "engagedMs 1e999", body: engagement(fields{"engagedMs": rawNumber("1e999")}), wantErr: "engagedMs"},
		{name: "engagedMs string", body: engagement(fields{"engagedMs": "5"}), wantErr: "engagedMs"},
		{name: "engagedMs missing", body: engagement(fields{"engagedMs": absent{}}), wantErr: "engagedMs"},
		// scroll: 0..100
		{name: "scroll 100", body: engagement(fields{"scroll": 100}), want: Payload{PID: "0a1b2c3d", Scroll: 100}},
		{name: "scroll 101", body: engagement(fields{"scroll": 101}), wantErr: "scroll"},
		{name: "scroll -1", body: engagement(fields{"scroll": -1}), wantErr: "scroll"},
		{name: "scroll missing", body: engagement(fields{"scroll": absent{}}), wantErr: "scroll"},
		// a page view may carry its pid; other types ignore it
		{name: "page view with pid", body: fields{"pid": "abcdefgh", "engagedMs": -5}, want: Payload{PID: "abcdefgh"}},
		{name: "page view without pid", body: fields{}, want: Payload{}},
		{name: "page view with a bad pid", body: fields{"pid": "short"}, wantErr: "pid"},
		{name: "custom event pid ignored", body: custom(fields{"pid": "abcdefgh"}), want: Payload{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(build(t, tt.body))
			if tt.wantErr != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantErr || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want a FieldError on %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, p)
			if p.PID != tt.want.PID || p.EngagedMs != tt.want.EngagedMs || p.Scroll != tt.want.Scroll {
				t.Errorf("pid %q engagedMs %d scroll %d, want %+v", p.PID, p.EngagedMs, p.Scroll, tt.want)
			}
		})
	}
}
