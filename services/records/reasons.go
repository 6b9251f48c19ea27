package records

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the records service answers with, each with the one code it is sent
// with. Besides these, records sends the platform's ROLE_NOT_ALLOWED
// (authn.ReasonRoleNotAllowed: the caller's role may not make the call),
// PAGE_TOKEN_INVALID (pagetoken.ReasonInvalid) and VALIDATION_FAILED
// (server.ReasonValidationFailed).
var (
	// ReasonDocumentNotFound: no live document of the caller's (or shared with the
	// calling doctor) has this id; someone else's and a deleted one answer alike.
	ReasonDocumentNotFound = errs.Declare(connect.CodeNotFound, "DOCUMENT_NOT_FOUND")
	// ReasonGroupNotFound: the caller has no group with this id.
	ReasonGroupNotFound = errs.Declare(connect.CodeNotFound, "GROUP_NOT_FOUND")
	// ReasonGroupExists: the caller already has a group of this name, ignoring case.
	ReasonGroupExists = errs.Declare(connect.CodeAlreadyExists, "GROUP_EXISTS")
	// ReasonDocumentCorrupt: the stored document failed its integrity check.
	ReasonDocumentCorrupt = errs.Declare(connect.CodeDataLoss, "DOCUMENT_CORRUPT")

	// Uploads.
	ReasonMetadataRequired      = errs.Declare(connect.CodeInvalidArgument, "METADATA_REQUIRED")
	ReasonMetadataRepeated      = errs.Declare(connect.CodeInvalidArgument, "METADATA_REPEATED")
	ReasonTrailerRequired       = errs.Declare(connect.CodeInvalidArgument, "TRAILER_REQUIRED")
	ReasonTrailerNotLast        = errs.Declare(connect.CodeInvalidArgument, "TRAILER_NOT_LAST")
	ReasonTrailerMismatch       = errs.Declare(connect.CodeInvalidArgument, "TRAILER_MISMATCH")
	ReasonDocumentEmpty         = errs.Declare(connect.CodeInvalidArgument, "DOCUMENT_EMPTY")
	ReasonDocumentTooLarge      = errs.Declare(connect.CodeInvalidArgument, "DOCUMENT_TOO_LARGE")
	ReasonContentTypeNotAllowed = errs.Declare(connect.CodeInvalidArgument, "CONTENT_TYPE_NOT_ALLOWED")
	// ReasonContentTypeMismatch: the bytes are not of the declared content type.
	ReasonContentTypeMismatch = errs.Declare(connect.CodeInvalidArgument, "CONTENT_TYPE_MISMATCH")
	// ReasonExecutableContent: the bytes carry a program's header where the declared
	// type leaves room for one (a DICOM preamble holding a PE, ELF, Mach-O or script
	// header: the polyglot of CVE-2019-11687).
	ReasonExecutableContent = errs.Declare(connect.CodeInvalidArgument, "EXECUTABLE_CONTENT")
	ReasonExamDateInFuture  = errs.Declare(connect.CodeInvalidArgument, "EXAM_DATE_IN_FUTURE")
	ReasonExamDateInvalid   = errs.Declare(connect.CodeInvalidArgument, "EXAM_DATE_INVALID")

	// Metadata, groups and the access log.
	ReasonTitleRequired = errs.Declare(connect.CodeInvalidArgument, "TITLE_REQUIRED")
	// ReasonBidiControl: a title or group name holds an invisible character that
	// reorders how text is shown (U+202E and the other bidirectional controls), with
	// which "exame\u202Efdp.exe" reads as "exameexe.pdf".
	ReasonBidiControl       = errs.Declare(connect.CodeInvalidArgument, "BIDI_CONTROL_CHARACTER")
	ReasonKindRequired      = errs.Declare(connect.CodeInvalidArgument, "KIND_REQUIRED")
	ReasonNameRequired      = errs.Declare(connect.CodeInvalidArgument, "NAME_REQUIRED")
	ReasonUpdateMaskInvalid = errs.Declare(connect.CodeInvalidArgument, "UPDATE_MASK_INVALID")
	ReasonTimeRangeInvalid  = errs.Declare(connect.CodeInvalidArgument, "TIME_RANGE_INVALID")

	// Sharing.
	// ReasonShareExpired: every grant that covered the document has ended, the latest
	// by its expire_time.
	ReasonShareExpired = errs.Declare(connect.CodePermissionDenied, "SHARE_EXPIRED")
	// ReasonShareRevoked: every grant that covered the document has ended, the latest
	// revoked by the patient.
	ReasonShareRevoked         = errs.Declare(connect.CodePermissionDenied, "SHARE_REVOKED")
	ReasonShareNotFound        = errs.Declare(connect.CodeNotFound, "SHARE_NOT_FOUND")
	ReasonShareEmpty           = errs.Declare(connect.CodeInvalidArgument, "SHARE_EMPTY")
	ReasonExpireTimeInvalid    = errs.Declare(connect.CodeInvalidArgument, "EXPIRE_TIME_INVALID")
	ReasonDirectoryUnavailable = errs.Declare(connect.CodeUnavailable, "DIRECTORY_UNAVAILABLE")
	// ReasonDoctorNotVerified: the doctor is not verified now (pending, rejected or
	// suspended): a doctor whose token does not say verified reads nothing shared with
	// them, and no share is granted to a doctor identity does not report VERIFIED.
	ReasonDoctorNotVerified = errs.Declare(connect.CodeFailedPrecondition, "DOCTOR_NOT_VERIFIED")
	// ReasonIdentityUnavailable: identity, which says whether a doctor is verified,
	// could not be reached; retry.
	ReasonIdentityUnavailable = errs.Declare(connect.CodeUnavailable, "IDENTITY_UNAVAILABLE")
	// ReasonDoctorNotFound: no doctor in the directory has the id named. Sent by
	// directory too (its GetPracticeSettings answers it, which ShareRecords
	// recognises), with the same code.
	ReasonDoctorNotFound = errs.Declare(connect.CodeNotFound, "DOCTOR_NOT_FOUND")

	// ReasonDecryptFailed: sent by keys. A data key altered, or sealed under another
	// document's context.
	ReasonDecryptFailed = errs.Declare(connect.CodeInvalidArgument, "DECRYPT_FAILED")
	// ReasonObjectNotFound: sent by blobs. No object under the key.
	ReasonObjectNotFound = errs.Declare(connect.CodeNotFound, "OBJECT_NOT_FOUND")
	// ReasonEmailNotVerified: the patient's token says the e-mail address is not
	// confirmed (claim ev); sharing records waits for it.
	ReasonEmailNotVerified = errs.Declare(connect.CodeFailedPrecondition, "EMAIL_NOT_VERIFIED")
)
