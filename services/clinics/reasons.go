package clinics

import (
	"connectrpc.com/connect"

	"healthcore/platform/errs"
)

// The reasons the clinics service sends.
var (
	// ReasonCNPJInvalid: the CNPJ's check digits are wrong, or all its digits equal.
	ReasonCNPJInvalid = errs.Declare(connect.CodeInvalidArgument, "CNPJ_INVALID")
	// ReasonClinicExists refuses a second clinic with a CNPJ already registered.
	ReasonClinicExists = errs.Declare(connect.CodeAlreadyExists, "CLINIC_EXISTS")
	// ReasonClinicNotFound: no clinic has this id.
	ReasonClinicNotFound = errs.Declare(connect.CodeNotFound, "CLINIC_NOT_FOUND")
	// ReasonAffiliationNotFound: the clinic never invited the calling doctor.
	ReasonAffiliationNotFound = errs.Declare(connect.CodeNotFound, "AFFILIATION_NOT_FOUND")
	// ReasonAffiliationState refuses a step that does not apply where the affiliation
	// stands (accepting a declined invitation, delegating on an ended affiliation).
	ReasonAffiliationState = errs.Declare(connect.CodeFailedPrecondition, "AFFILIATION_STATE")
)

// The reasons of partner events.
var (
	// ReasonEventEndpointURLInvalid refuses an endpoint URL that is not https://, or
	// names a private, loopback or link-local address.
	ReasonEventEndpointURLInvalid = errs.Declare(connect.CodeInvalidArgument, "EVENT_ENDPOINT_URL_INVALID")
	// ReasonEventEndpointNotFound: the calling clinic has no endpoint with this id.
	ReasonEventEndpointNotFound = errs.Declare(connect.CodeNotFound, "EVENT_ENDPOINT_NOT_FOUND")
	// ReasonEventDeliveryNotFound: the calling clinic has no delivery with this id.
	ReasonEventDeliveryNotFound = errs.Declare(connect.CodeNotFound, "EVENT_DELIVERY_NOT_FOUND")
)
