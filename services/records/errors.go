package records

import (
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// Failures a caller can act on.
var (
	errDocumentNotFound = errs.NotFound("DOCUMENT_NOT_FOUND", "no such document in your record")
	errGroupNotFound    = errs.NotFound("GROUP_NOT_FOUND", "no such group in your record")
	errGroupExists      = errs.AlreadyExists("GROUP_EXISTS", "you already have a group with this name")
	errNotPatient       = errs.PermissionDenied("ROLE_NOT_ALLOWED", "your account's role may not make this call")
	errDocumentCorrupt  = errs.New(connect.CodeDataLoss, "DOCUMENT_CORRUPT",
		"the stored document failed its integrity check; nothing more of it can be sent")

	errMetadataMissing = errs.InvalidArgument("METADATA_REQUIRED",
		"the first message of an upload must be its metadata",
		errs.Violation{Field: "metadata", Description: "required in the first message"})
	errMetadataRepeated = errs.InvalidArgument("METADATA_REPEATED",
		"only the first message of an upload may be metadata; the others carry chunks",
		errs.Violation{Field: "metadata", Description: "allowed only in the first message"})
	errTrailerMissing = errs.InvalidArgument("TRAILER_REQUIRED",
		"an upload must end with its trailer (size and SHA-256); nothing was stored",
		errs.Violation{Field: "trailer", Description: "required as the last message"})
	errAfterTrailer = errs.InvalidArgument("TRAILER_NOT_LAST",
		"the trailer must be the last message of an upload; nothing was stored",
		errs.Violation{Field: "trailer", Description: "must be the last message"})
	errTrailerMismatch = errs.InvalidArgument("TRAILER_MISMATCH",
		"the trailer's size or SHA-256 does not match the bytes received; nothing was stored",
		errs.Violation{Field: "trailer", Description: "must give the size and SHA-256 of the chunks sent"})
	errEmpty = errs.InvalidArgument("DOCUMENT_EMPTY", "the document has no bytes; nothing was stored",
		errs.Violation{Field: "chunk", Description: "send at least one byte"})
	errFutureExamDate = errs.InvalidArgument("EXAM_DATE_IN_FUTURE", "the exam date is in the future",
		errs.Violation{Field: "metadata.exam_date", Description: "must not be after today"})
	errBadExamDate = errs.InvalidArgument("EXAM_DATE_INVALID", "the exam date is not a calendar date",
		errs.Violation{Field: "metadata.exam_date", Description: "must be a valid YYYY-MM-DD date"})
	errBlankTitle = errs.InvalidArgument("TITLE_REQUIRED", "the title is blank",
		errs.Violation{Field: "title", Description: "must have 1 to 200 characters besides spaces"})
	errKindRequired = errs.InvalidArgument("KIND_REQUIRED", "the kind must be given",
		errs.Violation{Field: "kind", Description: "must not be DOCUMENT_KIND_UNSPECIFIED"})
	errBlankName = errs.InvalidArgument("NAME_REQUIRED", "the group name is blank",
		errs.Violation{Field: "name", Description: "must have 1 to 100 characters besides spaces"})
	errBadTimeRange = errs.InvalidArgument("TIME_RANGE_INVALID", "end_time must be after start_time",
		errs.Violation{Field: "end_time", Description: "must be after start_time"})
)

// errTooLarge reports a document past the size limit; ErrorInfo carries the limit.
func errTooLarge(limit int64) error {
	e := errs.InvalidArgument("DOCUMENT_TOO_LARGE", "the document is larger than the limit; nothing was stored",
		errs.Violation{Field: "chunk", Description: "the document may have at most " + strconv.FormatInt(limit, 10) + " bytes"})
	e.Metadata = map[string]string{"max_bytes": strconv.FormatInt(limit, 10)}
	return e
}

// errTypeNotAllowed reports a declared type the service does not accept.
func errTypeNotAllowed(allowed []string) error {
	return errs.InvalidArgument("CONTENT_TYPE_NOT_ALLOWED", "this content type is not accepted",
		errs.Violation{Field: "metadata.content_type", Description: "must be one of " + strings.Join(allowed, ", ")})
}

// errTypeMismatch reports bytes that are not of the declared type.
func errTypeMismatch(declared string) error {
	return errs.InvalidArgument("CONTENT_TYPE_MISMATCH", "the document's bytes are not of the declared content type",
		errs.Violation{Field: "metadata.content_type", Description: "the bytes are not " + declared})
}

// errBadMask reports an update_mask path that cannot be updated.
func errBadMask(path string) error {
	return errs.InvalidArgument("UPDATE_MASK_INVALID", "update_mask names a field that cannot be updated",
		errs.Violation{Field: "update_mask", Description: "may name only title, kind and group_id; got " + strconv.Quote(path)})
}

var errEmptyMask = errs.InvalidArgument("UPDATE_MASK_INVALID", "update_mask names no field",
	errs.Violation{Field: "update_mask", Description: "name at least one of title, kind and group_id"})
