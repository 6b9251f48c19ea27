package identity

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// RegisterPatient implements identityv1connect.IdentityServiceHandler.
func (s *Service) RegisterPatient(ctx context.Context, req *connect.Request[identityv1.RegisterPatientRequest]) (*connect.Response[identityv1.RegisterPatientResponse], error) {
	if err := s.registerPatient(ctx, req.Msg); err != nil {
		return nil, err
	}
	return accepted(&identityv1.RegisterPatientResponse{Status: statusCheckEmail, Message: msgRegistered}), nil
}

// RegisterDoctor implements identityv1connect.IdentityServiceHandler.
func (s *Service) RegisterDoctor(ctx context.Context, req *connect.Request[identityv1.RegisterDoctorRequest]) (*connect.Response[identityv1.RegisterDoctorResponse], error) {
	if err := s.registerDoctor(ctx, req.Msg); err != nil {
		return nil, err
	}
	return accepted(&identityv1.RegisterDoctorResponse{Status: statusCheckEmail, Message: msgRegistered}), nil
}

// accepted answers HTTP 202 through the gateway (server.HTTPStatusHeader): the request
// was taken, and what follows arrives by e-mail.
func accepted[T any](msg *T) *connect.Response[T] {
	resp := connect.NewResponse(msg)
	resp.Header().Set(server.HTTPStatusHeader, "202")
	return resp
}

// VerifyEmail implements identityv1connect.IdentityServiceHandler.
func (s *Service) VerifyEmail(ctx context.Context, req *connect.Request[identityv1.VerifyEmailRequest]) (*connect.Response[identityv1.VerifyEmailResponse], error) {
	if err := s.verifyEmail(ctx, req.Msg.GetToken()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.VerifyEmailResponse{}), nil
}

// ResendEmailVerification implements identityv1connect.IdentityServiceHandler.
func (s *Service) ResendEmailVerification(ctx context.Context, _ *connect.Request[identityv1.ResendEmailVerificationRequest]) (*connect.Response[identityv1.ResendEmailVerificationResponse], error) {
	if err := s.resendVerification(ctx); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.ResendEmailVerificationResponse{}), nil
}

// ForgotPassword implements identityv1connect.IdentityServiceHandler.
func (s *Service) ForgotPassword(ctx context.Context, req *connect.Request[identityv1.ForgotPasswordRequest]) (*connect.Response[identityv1.ForgotPasswordResponse], error) {
	if err := s.forgotPassword(ctx, req.Msg); err != nil {
		return nil, err
	}
	return accepted(&identityv1.ForgotPasswordResponse{Status: statusCheckEmail, Message: msgForgot}), nil
}

// ResetPassword implements identityv1connect.IdentityServiceHandler.
func (s *Service) ResetPassword(ctx context.Context, req *connect.Request[identityv1.ResetPasswordRequest]) (*connect.Response[identityv1.ResetPasswordResponse], error) {
	if err := s.resetPassword(ctx, req.Msg.GetToken(), req.Msg.GetNewPassword()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.ResetPasswordResponse{}), nil
}

// ChangeEmail implements identityv1connect.IdentityServiceHandler.
func (s *Service) ChangeEmail(ctx context.Context, req *connect.Request[identityv1.ChangeEmailRequest]) (*connect.Response[identityv1.ChangeEmailResponse], error) {
	if err := s.changeEmail(ctx, req.Msg.GetNewEmail(), req.Msg.GetPassword()); err != nil {
		return nil, err
	}
	return accepted(&identityv1.ChangeEmailResponse{Status: statusCheckEmail, Message: msgChangeEmail}), nil
}

// Login implements identityv1connect.IdentityServiceHandler.
func (s *Service) Login(ctx context.Context, req *connect.Request[identityv1.LoginRequest]) (*connect.Response[identityv1.LoginResponse], error) {
	r, err := s.login(ctx, req.Msg)
	s.countLogin(err)
	if err != nil {
		return nil, err
	}
	out := &identityv1.LoginResponse{Account: r.account.proto(), DeviceToken: r.device}
	if r.mfaToken != "" {
		out.MfaRequired, out.MfaToken, out.MfaTokenExpireTime = true, r.mfaToken, timestamppb.New(r.mfaExpires)
	} else {
		out.Tokens = r.tokens.proto()
	}
	return connect.NewResponse(out), nil
}

// LoginMfa implements identityv1connect.IdentityServiceHandler.
func (s *Service) LoginMfa(ctx context.Context, req *connect.Request[identityv1.LoginMfaRequest]) (*connect.Response[identityv1.LoginMfaResponse], error) {
	a, t, err := s.loginMFA(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.LoginMfaResponse{Tokens: t.proto(), Account: a.proto()}), nil
}

// EnrollTotp implements identityv1connect.IdentityServiceHandler.
func (s *Service) EnrollTotp(ctx context.Context, req *connect.Request[identityv1.EnrollTotpRequest]) (*connect.Response[identityv1.EnrollTotpResponse], error) {
	out, err := s.enrollTOTP(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ConfirmTotp implements identityv1connect.IdentityServiceHandler.
func (s *Service) ConfirmTotp(ctx context.Context, req *connect.Request[identityv1.ConfirmTotpRequest]) (*connect.Response[identityv1.ConfirmTotpResponse], error) {
	out, err := s.confirmTOTP(ctx, req.Msg.GetCode())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// DisableTotp implements identityv1connect.IdentityServiceHandler.
func (s *Service) DisableTotp(ctx context.Context, req *connect.Request[identityv1.DisableTotpRequest]) (*connect.Response[identityv1.DisableTotpResponse], error) {
	if err := s.disableTOTP(ctx, req.Msg); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.DisableTotpResponse{}), nil
}

// RegenerateRecoveryCodes implements identityv1connect.IdentityServiceHandler.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, req *connect.Request[identityv1.RegenerateRecoveryCodesRequest]) (*connect.Response[identityv1.RegenerateRecoveryCodesResponse], error) {
	codes, err := s.regenerateRecoveryCodes(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.RegenerateRecoveryCodesResponse{RecoveryCodes: codes}), nil
}

// Refresh implements identityv1connect.IdentityServiceHandler.
func (s *Service) Refresh(ctx context.Context, req *connect.Request[identityv1.RefreshRequest]) (*connect.Response[identityv1.RefreshResponse], error) {
	t, err := s.refresh(ctx, req.Msg.GetRefreshToken())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.RefreshResponse{Tokens: t.proto()}), nil
}

// Logout implements identityv1connect.IdentityServiceHandler.
func (s *Service) Logout(ctx context.Context, req *connect.Request[identityv1.LogoutRequest]) (*connect.Response[identityv1.LogoutResponse], error) {
	if err := s.logout(ctx, req.Msg.GetRefreshToken()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.LogoutResponse{}), nil
}

// GetMe implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetMe(ctx context.Context, _ *connect.Request[identityv1.GetMeRequest]) (*connect.Response[identityv1.GetMeResponse], error) {
	out, err := s.me(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetJwks implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetJwks(ctx context.Context, _ *connect.Request[identityv1.GetJwksRequest]) (*connect.Response[identityv1.GetJwksResponse], error) {
	keys, err := s.keys.publicKeys(ctx)
	if err != nil {
		return nil, errs.Internal("identity: GetJwks", err)
	}
	out := &identityv1.GetJwksResponse{}
	for _, k := range keys {
		out.Keys = append(out.Keys, authn.JWK(k))
	}
	resp := connect.NewResponse(out)
	resp.Header().Set("Cache-Control", "public, max-age=60")
	return resp, nil
}

// RotateSigningKey implements identityv1connect.IdentityServiceHandler.
func (s *Service) RotateSigningKey(ctx context.Context, _ *connect.Request[identityv1.RotateSigningKeyRequest]) (*connect.Response[identityv1.RotateSigningKeyResponse], error) {
	kid, err := s.keys.rotate(ctx)
	if err != nil {
		return nil, errs.Internal("identity: RotateSigningKey", err)
	}
	p, _ := authn.FromContext(ctx)
	_ = s.audit(ctx, s.db, actRotateKey, "", p.UserID, outcomeOK)
	return connect.NewResponse(&identityv1.RotateSigningKeyResponse{Kid: kid}), nil
}

// GetPayer implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetPayer(ctx context.Context, req *connect.Request[identityv1.GetPayerRequest]) (*connect.Response[identityv1.GetPayerResponse], error) {
	out, err := s.payer(ctx, req.Msg.GetAccountId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ChangePassword implements identityv1connect.IdentityServiceHandler.
func (s *Service) ChangePassword(ctx context.Context, req *connect.Request[identityv1.ChangePasswordRequest]) (*connect.Response[identityv1.ChangePasswordResponse], error) {
	if err := s.changePassword(ctx, req.Msg.GetCurrentPassword(), req.Msg.GetNewPassword()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.ChangePasswordResponse{}), nil
}

// GetContact implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetContact(ctx context.Context, req *connect.Request[identityv1.GetContactRequest]) (*connect.Response[identityv1.GetContactResponse], error) {
	out, err := s.contact(ctx, req.Msg.GetAccountId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetFirstNames implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetFirstNames(ctx context.Context, req *connect.Request[identityv1.GetFirstNamesRequest]) (*connect.Response[identityv1.GetFirstNamesResponse], error) {
	names, err := s.firstNames(ctx, req.Msg.GetAccountIds())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.GetFirstNamesResponse{FirstNames: names}), nil
}

// ListRevokedSessions implements identityv1connect.IdentityServiceHandler.
func (s *Service) ListRevokedSessions(ctx context.Context, _ *connect.Request[identityv1.ListRevokedSessionsRequest]) (*connect.Response[identityv1.ListRevokedSessionsResponse], error) {
	ended, err := s.revokedSessions(ctx)
	if err != nil {
		return nil, errs.Internal("identity: ListRevokedSessions", err)
	}
	out := &identityv1.ListRevokedSessionsResponse{Sessions: make([]*identityv1.RevokedSession, len(ended))}
	for i, e := range ended {
		out.Sessions[i] = &identityv1.RevokedSession{SessionId: e.ID, ExpireTime: timestamppb.New(e.Expires)}
	}
	return connect.NewResponse(out), nil
}

// CreateDataExport implements identityv1connect.IdentityServiceHandler.
func (s *Service) CreateDataExport(ctx context.Context, _ *connect.Request[identityv1.CreateDataExportRequest]) (*connect.Response[identityv1.CreateDataExportResponse], error) {
	e, err := s.createDataExport(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.CreateDataExportResponse{Export: e}), nil
}

// GetDataExport implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetDataExport(ctx context.Context, req *connect.Request[identityv1.GetDataExportRequest]) (*connect.Response[identityv1.GetDataExportResponse], error) {
	e, err := s.getDataExport(ctx, req.Msg.GetExportId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.GetDataExportResponse{Export: e}), nil
}

// DownloadDataExport implements identityv1connect.IdentityServiceHandler.
func (s *Service) DownloadDataExport(ctx context.Context, req *connect.Request[identityv1.DownloadDataExportRequest], stream *connect.ServerStream[identityv1.DownloadDataExportResponse]) error {
	return s.downloadDataExport(ctx, req.Msg.GetExportId(), stream.Send)
}

// EraseAccount implements identityv1connect.IdentityServiceHandler.
func (s *Service) EraseAccount(ctx context.Context, req *connect.Request[identityv1.EraseAccountRequest]) (*connect.Response[identityv1.EraseAccountResponse], error) {
	out, err := s.eraseAccount(ctx, req.Msg.GetPassword())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// SubmitVerification implements identityv1connect.IdentityServiceHandler.
func (s *Service) SubmitVerification(ctx context.Context, req *connect.Request[identityv1.SubmitVerificationRequest]) (*connect.Response[identityv1.SubmitVerificationResponse], error) {
	v, err := s.submitVerification(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.SubmitVerificationResponse{Verification: v}), nil
}

// GetMyVerification implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetMyVerification(ctx context.Context, _ *connect.Request[identityv1.GetMyVerificationRequest]) (*connect.Response[identityv1.GetMyVerificationResponse], error) {
	v, err := s.myVerification(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.GetMyVerificationResponse{Verification: v}), nil
}

// ListPendingDoctors implements identityv1connect.IdentityServiceHandler.
func (s *Service) ListPendingDoctors(ctx context.Context, req *connect.Request[identityv1.ListPendingDoctorsRequest]) (*connect.Response[identityv1.ListPendingDoctorsResponse], error) {
	out, err := s.listPendingDoctors(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetDoctorVerification implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetDoctorVerification(ctx context.Context, req *connect.Request[identityv1.GetDoctorVerificationRequest]) (*connect.Response[identityv1.GetDoctorVerificationResponse], error) {
	out, err := s.doctorVerification(ctx, req.Msg.GetDoctorId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetDoctorCard implements identityv1connect.IdentityServiceHandler.
func (s *Service) GetDoctorCard(ctx context.Context, req *connect.Request[identityv1.GetDoctorCardRequest]) (*connect.Response[identityv1.GetDoctorCardResponse], error) {
	contentType, card, err := s.doctorCard(ctx, req.Msg.GetDoctorId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.GetDoctorCardResponse{ContentType: contentType, Content: card}), nil
}

// ApproveDoctor implements identityv1connect.IdentityServiceHandler.
func (s *Service) ApproveDoctor(ctx context.Context, req *connect.Request[identityv1.ApproveDoctorRequest]) (*connect.Response[identityv1.ApproveDoctorResponse], error) {
	v, rejected, err := s.decide(ctx, approveDoctor, req.Msg.GetDoctorId(), "")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.ApproveDoctorResponse{Verification: v, RejectedClaimIds: rejected}), nil
}

// RejectDoctor implements identityv1connect.IdentityServiceHandler.
func (s *Service) RejectDoctor(ctx context.Context, req *connect.Request[identityv1.RejectDoctorRequest]) (*connect.Response[identityv1.RejectDoctorResponse], error) {
	v, _, err := s.decide(ctx, rejectDoctor, req.Msg.GetDoctorId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.RejectDoctorResponse{Verification: v}), nil
}

// SuspendDoctor implements identityv1connect.IdentityServiceHandler.
func (s *Service) SuspendDoctor(ctx context.Context, req *connect.Request[identityv1.SuspendDoctorRequest]) (*connect.Response[identityv1.SuspendDoctorResponse], error) {
	v, _, err := s.decide(ctx, suspendDoctor, req.Msg.GetDoctorId(), req.Msg.GetReason())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.SuspendDoctorResponse{Verification: v}), nil
}

// CreatePartnerClient implements identityv1connect.IdentityServiceHandler.
func (s *Service) CreatePartnerClient(ctx context.Context, req *connect.Request[identityv1.CreatePartnerClientRequest]) (*connect.Response[identityv1.CreatePartnerClientResponse], error) {
	c, secret, secretID, err := s.createPartnerClient(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.CreatePartnerClientResponse{Client: c.proto(), ClientSecret: secret, SecretId: secretID}), nil
}

// ListPartnerClients implements identityv1connect.IdentityServiceHandler.
func (s *Service) ListPartnerClients(ctx context.Context, req *connect.Request[identityv1.ListPartnerClientsRequest]) (*connect.Response[identityv1.ListPartnerClientsResponse], error) {
	list, err := s.partnerClients.list(ctx, s.db, req.Msg.GetClinicId())
	if err != nil {
		return nil, errs.Internal("identity: list partner clients", err)
	}
	out := &identityv1.ListPartnerClientsResponse{Clients: make([]*identityv1.PartnerClient, len(list))}
	for i, c := range list {
		out.Clients[i] = c.proto()
	}
	return connect.NewResponse(out), nil
}

// AddPartnerClientSecret implements identityv1connect.IdentityServiceHandler.
func (s *Service) AddPartnerClientSecret(ctx context.Context, req *connect.Request[identityv1.AddPartnerClientSecretRequest]) (*connect.Response[identityv1.AddPartnerClientSecretResponse], error) {
	secret, secretID, err := s.addPartnerSecret(ctx, req.Msg.GetClientId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.AddPartnerClientSecretResponse{ClientSecret: secret, SecretId: secretID}), nil
}

// RevokePartnerClientSecret implements identityv1connect.IdentityServiceHandler.
func (s *Service) RevokePartnerClientSecret(ctx context.Context, req *connect.Request[identityv1.RevokePartnerClientSecretRequest]) (*connect.Response[identityv1.RevokePartnerClientSecretResponse], error) {
	c, err := s.revokePartnerSecret(ctx, req.Msg.GetClientId(), req.Msg.GetSecretId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.RevokePartnerClientSecretResponse{Client: c.proto()}), nil
}

// RevokePartnerClient implements identityv1connect.IdentityServiceHandler.
func (s *Service) RevokePartnerClient(ctx context.Context, req *connect.Request[identityv1.RevokePartnerClientRequest]) (*connect.Response[identityv1.RevokePartnerClientResponse], error) {
	c, err := s.revokePartnerClient(ctx, req.Msg.GetClientId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&identityv1.RevokePartnerClientResponse{Client: c.proto()}), nil
}

// IssuePartnerToken implements identityv1connect.IdentityServiceHandler.
func (s *Service) IssuePartnerToken(ctx context.Context, req *connect.Request[identityv1.IssuePartnerTokenRequest]) (*connect.Response[identityv1.IssuePartnerTokenResponse], error) {
	out, err := s.issuePartnerToken(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}
