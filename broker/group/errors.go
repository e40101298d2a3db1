package group

import "errors"

// Sentinel errors; the broker maps each to its Kafka error code.
var (
	ErrInvalidGroupID          = errors.New("invalid group id")
	ErrUnknownMemberID         = errors.New("unknown member id")
	ErrMemberIDRequired        = errors.New("member id required")
	ErrIllegalGeneration       = errors.New("illegal generation")
	ErrRebalanceInProgress     = errors.New("rebalance in progress")
	ErrInconsistentProtocol    = errors.New("inconsistent group protocol")
	ErrInvalidSessionTimeout   = errors.New("invalid session timeout")
	ErrFencedInstanceID        = errors.New("fenced instance id")
	ErrGroupNotFound           = errors.New("group id not found")
	ErrNonEmptyGroup           = errors.New("non-empty group")
	ErrGroupSubscribedToTopic  = errors.New("group subscribed to topic")
	ErrOffsetMetadataTooLarge  = errors.New("offset metadata too large")
	ErrCoordinatorNotAvailable = errors.New("coordinator not available")
)
