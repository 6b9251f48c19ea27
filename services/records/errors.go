package records

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"healthcore/platform/authn"
	"healthcore/platform/errs"
)

// Failures a caller can act on, built from the reasons declared in reasons.go.
var (
	errDocumentNotFound = ReasonDocumentNotFound.New("no such document in your record")
	errGroupNotFound    = ReasonGroupNotFound.New("no such group in your record")
	errGroupExists      = ReasonGroupExists.New("you already have a group with this name")
	errNotPatient       = authn.ReasonRoleNotAllowed.New("your account's role may not make this call")
	errNotVerified      = ReasonDoctorNotVerified.New("your CRM is not verified: shared records open once an operator verified it")
	errDocumentCorrupt  = ReasonDocumentCorrupt.New("the stored document failed its integrity check; nothing more of it can be sent")

	errMetadataMissing = ReasonMetadataRequired.New("the first message of an upload must be its metadata").
				WithViolations(errs.Violation{Field: "metadata", Description: "required in the first message"})
	errMetadataRepeated = ReasonMetadataRepeated.New("only the first message of an upload may be metadata; the others carry chunks").
				WithViolations(errs.Violation{Field: "metadata", Description: "allowed only in the first message"})
	errTrailerMissing = ReasonTrailerRequired.New("an upload must end with its trailer (size and SHA-256); nothing was stored").
				WithViolations(errs.Violation{Field: "trailer", Description: "required as the last message"})
	errAfterTrailer = ReasonTrailerNotLast.New("the trailer must be the last message of an upload; nothing was stored").
			WithViolations(errs.Violation{Field: "trailer", Description: "must be the last message"})
	errTrailerMismatch = ReasonTrailerMismatch.New("the trailer's size or SHA-256 does not match the bytes received; nothing was stored").
				WithViolations(errs.Violation{Field: "trailer", Description: "must give the size and SHA-256 of the chunks sent"})
	errEmpty = ReasonDocumentEmpty.New("the document has no bytes; nothing was stored").
			WithViolations(errs.Violation{Field: "chunk", Description: "send at least one byte"})
	errFutureExamDate = ReasonExamDateInFuture.New("the exam date is in the future").
				WithViolations(errs.Violation{Field: "metadata.exam_date", Description: "must not be after today"})
	errBadExamDate = ReasonExamDateInvalid.New("the exam date is not a calendar date").
			WithViolations(errs.Violation{Field: "metadata.exam_date", Description: "must be a valid YYYY-MM-DD date"})
	errBlankTitle = ReasonTitleRequired.New("the title is blank").
			WithViolations(errs.Violation{Field: "title", Description: "must have 1 to 200 characters besides spaces"})
	errKindRequired = ReasonKindRequired.New("the kind must be given").
			WithViolations(errs.Violation{Field: "kind", Description: "must not be DOCUMENT_KIND_UNSPECIFIED"})
	errBlankName = ReasonNameRequired.New("the group name is blank").
			WithViolations(errs.Violation{Field: "name", Description: "must have 1 to 100 characters besides spaces"})
	errBadTimeRange = ReasonTimeRangeInvalid.New("end_time must be after start_time").
			WithViolations(errs.Violation{Field: "end_time", Description: "must be after start_time"})
	errEmptyMask = ReasonUpdateMaskInvalid.New("update_mask names no field").
			WithViolations(errs.Violation{Field: "update_mask", Description: "name at least one of title, kind and group_id (groupId)"})

	errShareExpired  = ReasonShareExpired.New("the patient's grant of this document to you has expired")
	errShareRevoked  = ReasonShareRevoked.New("the patient revoked the grant of this document to you")
	errShareNotFound = ReasonShareNotFound.New("no such share in your record")
	errShareEmpty    = ReasonShareEmpty.New("a share must name at least one document or group").
				WithViolations(errs.Violation{Field: "document_ids", Description: "name at least one document, or a group in group_ids"})
	errDoctorNotFound = ReasonDoctorNotFound.New("no doctor in the directory has this id").
				WithViolations(errs.Violation{Field: "doctor_id", Description: "must be the id of a doctor in the directory"})
	errExpirePast = ReasonExpireTimeInvalid.New("expire_time is not in the future").
			WithViolations(errs.Violation{Field: "expire_time", Description: "must be in the future"})
)

// errTooLarge reports a document past the size limit; ErrorInfo carries the limit.
func errTooLarge(limit int64) error {
	n := strconv.FormatInt(limit, 10)
	return ReasonDocumentTooLarge.New("the document is larger than the limit; nothing was stored").
		WithViolations(errs.Violation{Field: "chunk", Description: "the document may have at most " + n + " bytes"}).
		WithMetadata(map[string]string{"max_bytes": n})
}

// errTypeNotAllowed reports a declared type the service does not accept.
func errTypeNotAllowed(allowed []string) error {
	return ReasonContentTypeNotAllowed.New("this content type is not accepted").
		WithViolations(errs.Violation{Field: "metadata.content_type", Description: "must be one of " + strings.Join(allowed, ", ")})
}

// errTypeMismatch reports bytes that are not of the declared type.
func errTypeMismatch(declared string) error {
	return ReasonContentTypeMismatch.New("the document's bytes are not of the declared content type").
		WithViolations(errs.Violation{Field: "metadata.content_type", Description: "the bytes are not " + declared})
}

// errExecutablePreamble reports a DICOM file whose preamble is a program's header.
func errExecutablePreamble(program string) error {
	return ReasonExecutableContent.New("the DICOM file's 128-byte preamble starts with the header of " + program +
		", so the file could also run as a program (CVE-2019-11687); nothing was stored. " +
		"Save the image again with a preamble of zeros (most DICOM tools can; PS3.10 allows it) and upload that").
		WithViolations(errs.Violation{Field: "chunk", Description: "a DICOM preamble must not start with " + program + "'s header"})
}

// errBadMask reports an update_mask path that cannot be updated.
func errBadMask(path string) error {
	return ReasonUpdateMaskInvalid.New("update_mask names a field that cannot be updated").
		WithViolations(errs.Violation{Field: "update_mask", Description: "may name only title, kind and group_id (groupId); got " + strconv.Quote(path)})
}

// errExpireTooFar reports a grant that would run past the longest allowed.
func errExpireTooFar(limit time.Duration) error {
	return ReasonExpireTimeInvalid.New("expire_time is further ahead than a share may run").
		WithViolations(errs.Violation{Field: "expire_time", Description: "must be at most " + limit.String() + " from now"})
}

// errShareDocumentNotFound reports the i-th document of a share request that is not
// the caller's live document.
func errShareDocumentNotFound(i int) error {
	return ReasonDocumentNotFound.New("a document to share is not in your record").
		WithViolations(errs.Violation{Field: fmt.Sprintf("document_ids[%d]", i), Description: "no such document in your record"})
}

// errShareGroupNotFound reports the i-th group of a share request that is not the
// caller's.
func errShareGroupNotFound(i int) error {
	return ReasonGroupNotFound.New("a group to share is not in your record").
		WithViolations(errs.Violation{Field: fmt.Sprintf("group_ids[%d]", i), Description: "no such group in your record"})
}

// errDirectory reports a directory that could not answer whether a doctor exists.
func errDirectory(err error) error {
	return ReasonDirectoryUnavailable.New("the doctor directory cannot be reached; retry").WithCause(err)
}
