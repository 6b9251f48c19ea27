// How appointment and payment states read in pt-BR.
export const appointmentStates: Record<string, string> = {
  APPOINTMENT_STATE_PENDING_PAYMENT: "Aguardando pagamento",
  APPOINTMENT_STATE_AWAITING_DOCTOR: "Pago · aguardando o médico",
  APPOINTMENT_STATE_CONFIRMED: "Confirmada",
  APPOINTMENT_STATE_COMPLETED: "Realizada",
  APPOINTMENT_STATE_EXPIRED: "Expirada",
  APPOINTMENT_STATE_REFUSED: "Recusada pelo médico",
  APPOINTMENT_STATE_CANCELLED: "Cancelada",
};

export const paymentStates: Record<string, string> = {
  PAYMENT_STATUS_CREATING: "Gerando cobrança",
  PAYMENT_STATUS_PENDING: "Aguardando pagamento",
  PAYMENT_STATUS_PAID: "Pago",
  PAYMENT_STATUS_FAILED: "Não pago",
  PAYMENT_STATUS_PARTIALLY_REFUNDED: "Estornado em parte",
  PAYMENT_STATUS_REFUNDED: "Estornado",
};

export const finalStates = new Set([
  "APPOINTMENT_STATE_COMPLETED",
  "APPOINTMENT_STATE_EXPIRED",
  "APPOINTMENT_STATE_REFUSED",
  "APPOINTMENT_STATE_CANCELLED",
]);
