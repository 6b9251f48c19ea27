package records

import (
	"context"

	"connectrpc.com/connect"

	recordsv1 "healthcore/gen/healthcore/records/v1"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// UploadDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) UploadDocument(ctx context.Context, stream *connect.ClientStream[recordsv1.UploadDocumentRequest]) (*connect.Response[recordsv1.UploadDocumentResponse], error) {
	d, err := s.upload(ctx, stream)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.UploadDocumentResponse{Document: d.proto()}), nil
}

// DownloadDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) DownloadDocument(ctx context.Context, req *connect.Request[recordsv1.DownloadDocumentRequest], stream *connect.ServerStream[recordsv1.DownloadDocumentResponse]) error {
	return s.download(ctx, req.Msg.GetDocumentId(), stream.Send)
}

// ListDocuments implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ListDocuments(ctx context.Context, req *connect.Request[recordsv1.ListDocumentsRequest]) (*connect.Response[recordsv1.ListDocumentsResponse], error) {
	docs, next, err := s.listDocuments(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	out := &recordsv1.ListDocumentsResponse{NextPageToken: next}
	for _, d := range docs {
		out.Documents = append(out.Documents, d.proto())
	}
	return connect.NewResponse(out), nil
}

// GetDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) GetDocument(ctx context.Context, req *connect.Request[recordsv1.GetDocumentRequest]) (*connect.Response[recordsv1.GetDocumentResponse], error) {
	d, err := s.getDocument(ctx, req.Msg.GetDocumentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.GetDocumentResponse{Document: d.proto()}), nil
}

// UpdateDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) UpdateDocument(ctx context.Context, req *connect.Request[recordsv1.UpdateDocumentRequest]) (*connect.Response[recordsv1.UpdateDocumentResponse], error) {
	d, err := s.updateDocument(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.UpdateDocumentResponse{Document: d.proto()}), nil
}

// DeleteDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) DeleteDocument(ctx context.Context, req *connect.Request[recordsv1.DeleteDocumentRequest]) (*connect.Response[recordsv1.DeleteDocumentResponse], error) {
	if err := s.deleteDocument(ctx, req.Msg.GetDocumentId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.DeleteDocumentResponse{}), nil
}

// CreateGroup implements recordsv1connect.RecordsServiceHandler.
func (s *Service) CreateGroup(ctx context.Context, req *connect.Request[recordsv1.CreateGroupRequest]) (*connect.Response[recordsv1.CreateGroupResponse], error) {
	g, err := s.createGroup(ctx, req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.CreateGroupResponse{Group: g.proto()}), nil
}

// ListGroups implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ListGroups(ctx context.Context, _ *connect.Request[recordsv1.ListGroupsRequest]) (*connect.Response[recordsv1.ListGroupsResponse], error) {
	gs, err := s.listGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := &recordsv1.ListGroupsResponse{}
	for _, g := range gs {
		out.Groups = append(out.Groups, g.proto())
	}
	return connect.NewResponse(out), nil
}

// RenameGroup implements recordsv1connect.RecordsServiceHandler.
func (s *Service) RenameGroup(ctx context.Context, req *connect.Request[recordsv1.RenameGroupRequest]) (*connect.Response[recordsv1.RenameGroupResponse], error) {
	g, err := s.renameGroup(ctx, req.Msg.GetGroupId(), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.RenameGroupResponse{Group: g.proto()}), nil
}

// ListAccessLog implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ListAccessLog(ctx context.Context, req *connect.Request[recordsv1.ListAccessLogRequest]) (*connect.Response[recordsv1.ListAccessLogResponse], error) {
	entries, next, err := s.listAccessLog(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.ListAccessLogResponse{Entries: entries, NextPageToken: next}), nil
}

// ShareRecords implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ShareRecords(ctx context.Context, req *connect.Request[recordsv1.ShareRecordsRequest]) (*connect.Response[recordsv1.ShareRecordsResponse], error) {
	sh, err := s.shareRecords(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.ShareRecordsResponse{Share: sh}), nil
}

// RevokeShare implements recordsv1connect.RecordsServiceHandler.
func (s *Service) RevokeShare(ctx context.Context, req *connect.Request[recordsv1.RevokeShareRequest]) (*connect.Response[recordsv1.RevokeShareResponse], error) {
	sh, err := s.revokeShare(ctx, req.Msg.GetShareId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.RevokeShareResponse{Share: sh}), nil
}

// ListShares implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ListShares(ctx context.Context, _ *connect.Request[recordsv1.ListSharesRequest]) (*connect.Response[recordsv1.ListSharesResponse], error) {
	shares, err := s.listShares(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.ListSharesResponse{Shares: shares}), nil
}

// ListSharedWithMe implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ListSharedWithMe(ctx context.Context, _ *connect.Request[recordsv1.ListSharedWithMeRequest]) (*connect.Response[recordsv1.ListSharedWithMeResponse], error) {
	docs, err := s.listSharedWithMe(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.ListSharedWithMeResponse{Documents: docs}), nil
}

// ExportPatientRecords implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ExportPatientRecords(ctx context.Context, req *connect.Request[recordsv1.ExportPatientRecordsRequest]) (*connect.Response[recordsv1.ExportPatientRecordsResponse], error) {
	out, err := s.exportPatientRecords(ctx, req.Msg.GetPatientId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ReadPatientDocument implements recordsv1connect.RecordsServiceHandler.
func (s *Service) ReadPatientDocument(ctx context.Context, req *connect.Request[recordsv1.ReadPatientDocumentRequest], stream *connect.ServerStream[recordsv1.ReadPatientDocumentResponse]) error {
	return s.readPatientDocument(ctx, req.Msg.GetPatientId(), req.Msg.GetDocumentId(), stream.Send)
}

// HoldPatientRecords implements recordsv1connect.RecordsServiceHandler.
func (s *Service) HoldPatientRecords(ctx context.Context, req *connect.Request[recordsv1.HoldPatientRecordsRequest]) (*connect.Response[recordsv1.HoldPatientRecordsResponse], error) {
	n, err := s.holdPatientRecords(ctx, req.Msg.GetPatientId(), req.Msg.GetUntil().AsTime())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recordsv1.HoldPatientRecordsResponse{Held: n}), nil
}
