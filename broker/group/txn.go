package group

// Transactional offset commits (TxnOffsetCommit): the offsets a
// transactional producer commits for a group stay pending, invisible to
// OffsetFetch, until the transaction coordinator ends the transaction:
// a commit stores them as ordinary committed offsets, an abort drops them.
// Pending offsets live in memory here; the transaction coordinator (package
// txn) keeps them durable and stages them again after a restart.

// StageTxnOffsets holds commits for groupID as pending offsets of the
// transaction of producerID. A member id and a generation of 0 or more are
// checked against the group as OffsetCommit does (KIP-447); without them
// the commit is accepted as from an older client. It returns one error per
// commit (metadata too large); the returned error applies to all.
func (c *Coordinator) StageTxnOffsets(groupID, memberID, instanceID string, generation int32, producerID int64, commits []Commit) ([]error, error) {
	if groupID == "" {
		return nil, ErrInvalidGroupID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(); err != nil {
		return nil, err
	}
	if memberID != "" && generation >= 0 {
		if err := c.checkCommitterLocked(groupID, memberID, instanceID, generation); err != nil {
			return nil, err
		}
	}
	if c.pending == nil {
		c.pending = map[string]map[int64]map[TopicPartition]Commit{}
	}
	byPID := c.pending[groupID]
	if byPID == nil {
		byPID = map[int64]map[TopicPartition]Commit{}
		c.pending[groupID] = byPID
	}
	staged := byPID[producerID]
	if staged == nil {
		staged = map[TopicPartition]Commit{}
		byPID[producerID] = staged
	}
	errs := make([]error, len(commits))
	for i, cm := range commits {
		if len(cm.Metadata) > c.cfg.MaxMetadataSize {
			errs[i] = ErrOffsetMetadataTooLarge
			continue
		}
		staged[cm.TopicPartition] = cm
	}
	return errs, nil
}

// EndTxnOffsets ends producerID's transaction for groupID: on commit its
// pending offsets become committed offsets, durably before it returns; on
// abort they are dropped.
func (c *Coordinator) EndTxnOffsets(groupID string, producerID int64, commit bool) error {
	c.mu.Lock()
	staged := c.pending[groupID][producerID]
	delete(c.pending[groupID], producerID)
	if len(c.pending[groupID]) == 0 {
		delete(c.pending, groupID)
	}
	if !commit || len(staged) == 0 {
		c.mu.Unlock()
		return nil
	}
	commits := make([]Commit, 0, len(staged))
	for _, cm := range staged {
		commits = append(commits, cm)
	}
	_, w := c.storeOffsetsLocked(groupID, commits)
	c.mu.Unlock()
	return c.sync([]write{w})
}

// HasPendingTxnOffsets reports whether a transaction holds a pending offset
// for the group's partition (OffsetFetch RequireStable answers
// UNSTABLE_OFFSET_COMMIT then).
func (c *Coordinator) HasPendingTxnOffsets(groupID string, tp TopicPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, staged := range c.pending[groupID] {
		if _, ok := staged[tp]; ok {
			return true
		}
	}
	return false
}
