package rules

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// ErrMigrationUnsupported is returned for migration rules: Confluent's
// clients run them as JSONata, which has no Go implementation here.
var ErrMigrationUnsupported = errors.New("migration rules are not supported")

// ErrInvalidRuleSet is wrapped by every problem Validate reports.
var ErrInvalidRuleSet = errors.New("invalid rule set")

// RuleConditionError is the cause of a failed CONDITION rule: its
// expression was false for the record (or for one of its fields).
type RuleConditionError struct {
	Rule Rule
}

// Error names the rule and its expression, and the rule's doc when it has
// one (Confluent uses the doc as the failure message).
func (e *RuleConditionError) Error() string {
	switch {
	case e.Rule.Doc != "" && e.Rule.Expr != "":
		return fmt.Sprintf("condition %s failed: %s (expr '%s')", e.Rule.Name, e.Rule.Doc, e.Rule.Expr)
	case e.Rule.Doc != "":
		return fmt.Sprintf("condition %s failed: %s", e.Rule.Name, e.Rule.Doc)
	case e.Rule.Expr != "":
		return fmt.Sprintf("condition %s failed: expr '%s'", e.Rule.Name, e.Rule.Expr)
	}
	return fmt.Sprintf("condition %s failed", e.Rule.Name)
}

// RuleError is what Execute returns when a rule's action is ERROR or DLQ:
// the converter fails the record with it (the worker's errors.tolerance
// and DLQ path report it), and for Action DLQ first sends the record to
// DLQTopic with DLQHeaders.
type RuleError struct {
	Rule Rule
	// Mode is the mode the rules ran in (WRITE or READ).
	Mode Mode
	// Action is ERROR or DLQ.
	Action string
	// DLQTopic is the rule's dlq.topic parameter (DLQ action only; empty
	// when the rule names none, which Confluent's serializers refuse).
	DLQTopic string
	// DLQAutoFlush is the rule's dlq.auto.flush parameter.
	DLQAutoFlush bool
	// Subject and Topic describe the record, for DLQHeaders.
	Subject, Topic string
	// Err is the cause: a *RuleConditionError, a CEL compile or evaluation
	// error, or nil when the action ran after a success.
	Err error
}

func (e *RuleError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("rule %s (%s, action %s) failed", e.Rule.Name, e.Mode, e.Action)
	}
	return fmt.Sprintf("rule %s (%s, action %s) failed: %v", e.Rule.Name, e.Mode, e.Action, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// DLQHeaders returns the headers Confluent's DLQ action adds to the record
// it sends: the rule's name and mode, the subject, the topic and the cause.
func (e *RuleError) DLQHeaders() connect.Headers {
	h := connect.Headers{
		{Key: HeaderRuleName, Schema: connect.StringSchema, Value: e.Rule.Name},
		{Key: HeaderRuleMode, Schema: connect.StringSchema, Value: string(e.Mode)},
		{Key: HeaderRuleSubject, Schema: connect.StringSchema, Value: e.Subject},
		{Key: HeaderRuleTopic, Schema: connect.StringSchema, Value: e.Topic},
	}
	if e.Err != nil {
		h = append(h, connect.Header{Key: HeaderRuleException, Schema: connect.StringSchema, Value: e.Err.Error()})
	}
	return h
}

// actionError builds the error for action on rule r, or nil for NONE.
func (x *execution) actionError(r *Rule, action string, cause error) error {
	switch action {
	case ActionNone:
		return nil
	case ActionError, ActionDLQ:
		re := &RuleError{Rule: *r, Mode: x.mode, Action: action, Subject: x.rec.Subject, Topic: x.rec.Topic, Err: cause}
		if action == ActionDLQ {
			re.DLQTopic = Param(r, x.md, ParamDLQTopic)
			re.DLQAutoFlush, _ = strconv.ParseBool(Param(r, x.md, ParamDLQAutoFlush))
		}
		return re
	}
	return &RuleError{Rule: *r, Mode: x.mode, Action: action, Subject: x.rec.Subject, Topic: x.rec.Topic,
		Err: fmt.Errorf("unknown rule action %q (want NONE, ERROR or DLQ); rule result: %w", action, orOK(cause))}
}

func orOK(err error) error {
	if err == nil {
		return errors.New("succeeded")
	}
	return err
}
