package broker

// DescribeGroups v0-5, ListGroups v0-4, DeleteGroups v0-2.
//
// DescribeGroups of an unknown group answers state Dead and no error, as
// Kafka does before v6. ListGroups v4 filters by state (case-insensitive).
// DeleteGroups refuses a group with members (NON_EMPTY_GROUP) and writes
// tombstones for the group and its offsets.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	describeGroupsAPI = api{key: 15, min: 0, max: 5, handle: handleDescribeGroups}
	listGroupsAPI     = api{key: 16, min: 0, max: 4, handle: handleListGroups}
	deleteGroupsAPI   = api{key: 42, min: 0, max: 2, handle: handleDeleteGroups}
)

func handleDescribeGroups(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		in := c.s.groups.Describe(id)
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group, rg.State, rg.ProtocolType, rg.Protocol = id, string(in.State), in.ProtocolType, in.Protocol
		rg.AuthorizedOperations = -2147483648
		for _, m := range in.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.ClientID, rm.ClientHost = m.MemberID, m.ClientID, m.ClientHost
			if m.InstanceID != "" {
				rm.InstanceID = &m.InstanceID
			}
			rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return ready(resp)
}

func handleListGroups(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	for _, g := range c.s.groups.List(req.StatesFilter) {
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState = g.ID, g.ProtocolType, string(g.State)
		resp.Groups = append(resp.Groups, rg)
	}
	return ready(resp)
}

func handleDeleteGroups(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = id
		rg.ErrorCode = errorCode(c.s.groups.DeleteGroup(id))
		resp.Groups = append(resp.Groups, rg)
	}
	return ready(resp)
}
