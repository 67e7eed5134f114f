package plugin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	// Zone data in the binary: websites.timezone is checked here and
	// read by the stats, also on a machine without /usr/share/zoneinfo
	// (a scratch container).
	_ "time/tzdata"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

// bindGoalHooks validates what the stats read from owners' settings on
// every save, whichever way it came (Go code, the REST API, the admin UI,
// the dashboard), as bindWebsiteDomainHook does for domains: a goal as
// goal.Spec.Validate sees it, a funnel's steps as goal.ParseSteps does,
// and a website's timezone as a zone time.LoadLocation knows. A refusal
// is a validation error of the offending field (400 on the REST API,
// naming the field). What is valid is stored as given.
//
// A PocketBase that Skopos only writes to over REST (SDK mode) runs no
// hooks: readers of goals, funnels and timezones must still treat an
// invalid stored value as absent rather than trust it.
func bindGoalHooks(app core.App) {
	goals := func(e *core.RecordEvent) error {
		if err := validateGoal(e.Record); err != nil {
			return err
		}
		return e.Next()
	}
	app.OnRecordCreate(schema.Goals).BindFunc(goals)
	app.OnRecordUpdate(schema.Goals).BindFunc(goals)

	funnels := func(e *core.RecordEvent) error {
		if err := validateFunnel(e.Record); err != nil {
			return err
		}
		return e.Next()
	}
	app.OnRecordCreate(schema.Funnels).BindFunc(funnels)
	app.OnRecordUpdate(schema.Funnels).BindFunc(funnels)

	app.OnRecordCreate(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if err := validateTimezone(e.Record.GetString("timezone")); err != nil {
			return err
		}
		return e.Next()
	})
	// only a changed zone is checked: a zone stored before (or behind
	// the hook's back) must not block saving the website's other settings
	app.OnRecordUpdate(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if tz := e.Record.GetString("timezone"); tz != e.Record.Original().GetString("timezone") {
			if err := validateTimezone(tz); err != nil {
				return err
			}
		}
		return e.Next()
	})
}

func validateGoal(rec *core.Record) error {
	err := goal.FromRecord(rec).Validate()
	if err == nil {
		return nil
	}
	field := "match"
	var fe *goal.FieldError
	if errors.As(err, &fe) {
		field = fe.Field
	}
	return validation.Errors{field: validation.NewError("validation_invalid_goal", goalMessage(err))}
}

func validateFunnel(rec *core.Record) error {
	raw, _ := rec.Get("steps").(types.JSONRaw)
	if len(raw) == 0 {
		raw = types.JSONRaw("null") // no steps: "a funnel has 2 to 8 steps, not 0"
	}
	if _, err := goal.ParseSteps(raw); err != nil {
		return validation.Errors{"steps": validation.NewError("validation_invalid_steps", goalMessage(err))}
	}
	return nil
}

// goalMessage is err without the package's generic prefix, for whoever
// typed the definition. It ends without a period: validation.Errors adds
// one when it is printed.
func goalMessage(err error) string {
	return strings.TrimSuffix(strings.ReplaceAll(err.Error(), goal.ErrInvalid.Error()+": ", ""), ".")
}

// validateTimezone accepts "" (UTC) and IANA zone names. "Local" is
// refused: it is whatever zone the server runs in, which can change
// under the stored data.
func validateTimezone(tz string) error {
	if tz == "" {
		return nil
	}
	var msg string
	if tz == "Local" {
		msg = `"Local" is the server's own zone, not a fixed one; name the zone, such as Europe/Berlin`
	} else if _, err := time.LoadLocation(tz); err != nil {
		msg = fmt.Sprintf("Unknown time zone %q; use an IANA name such as Europe/Berlin, or leave it empty for UTC", tz)
	} else {
		return nil
	}
	return validation.Errors{"timezone": validation.NewError("validation_invalid_timezone", msg)}
}
