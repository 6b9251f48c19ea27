// The one table of what the app tells a person for each reason the API sends
// (ErrorInfo.reason), in pt-BR. Every reason the platform declares has a line here; a
// Go test (web/errors_test.go) fails when a new reason has none.

export const reasonMessages: Record<string, string> = {
  ACCOUNT_EXISTS: "Já existe uma conta com esses dados.",
  ACCOUNT_NOT_FOUND: "Conta não encontrada.",
  AFFILIATION_NOT_FOUND: "Vínculo com a clínica não encontrado.",
  AFFILIATION_STATE: "Este vínculo com a clínica não permite essa ação no estado atual. Recarregue a página.",
  ALREADY_REVIEWED: "Você já avaliou esta consulta.",
  ALREADY_STARTED: "A consulta já começou; não é mais possível alterá-la.",
  ANSWER_DEADLINE_PASSED: "O prazo para responder a este pedido de consulta já passou.",
  APPOINTMENT_NOT_COMPLETED: "Só é possível avaliar depois que a consulta terminar.",
  APPOINTMENT_NOT_FOUND: "Consulta não encontrada.",
  AVAILABILITY_INVALID: "A disponibilidade informada não é válida. Confira os dias e horários.",
  BIDI_CONTROL_CHARACTER: "O texto contém caracteres de controle de direção que não são aceitos.",
  BIRTH_DATE_INVALID: "Confira a data de nascimento.",
  BODY_TOO_LARGE: "O envio é grande demais.",
  BOOKING_THROTTLED: "Muitos agendamentos em pouco tempo. Aguarde um pouco e tente de novo.",
  CALLER_NOT_ALLOWED: "Esta operação não é permitida para você.",
  CARD_TYPE_NOT_ALLOWED: "Envie a carteira do CRM em JPEG, PNG ou PDF.",
  CHARGE_NOT_CANCELLABLE: "Esta cobrança não pode mais ser cancelada.",
  CHARGE_NOT_FOUND: "Cobrança não encontrada.",
  CHARGE_NOT_REFUNDABLE: "Esta cobrança não pode ser estornada.",
  CHARGE_REFUSED: "O provedor de pagamento recusou a cobrança. Tente de novo em instantes.",
  CLIENT_INVALID: "Credenciais do cliente inválidas.",
  CLIENT_NOT_FOUND: "Cliente de integração não encontrado.",
  CLIENT_REVOKED: "Este cliente de integração foi revogado.",
  CLIENT_SECRET_LIMIT: "Este cliente já tem dois segredos ativos: revogue o antigo antes de criar outro.",
  CLINICS_UNAVAILABLE: "O serviço de clínicas está indisponível no momento. Tente de novo em instantes.",
  CLINIC_EXISTS: "Já existe uma clínica com este CNPJ.",
  CLINIC_NOT_FOUND: "Clínica não encontrada.",
  CNPJ_INVALID: "CNPJ inválido: confira os dígitos.",
  CONSENT_REQUIRED: "É preciso dar o consentimento para continuar.",
  CONTENT_TYPE_MISMATCH: "O tipo do arquivo não corresponde ao conteúdo.",
  CONTENT_TYPE_NOT_ALLOWED: "Tipo de arquivo não aceito. Envie PDF, JPEG, PNG, WebP ou DICOM.",
  CPF_INVALID: "CPF inválido: confira os dígitos.",
  CRM_ALREADY_VERIFIED: "Este CRM já foi verificado em outra conta.",
  CRM_MISMATCH: "O CRM enviado não é o da sua conta.",
  CRM_MISSING: "Informe o CRM.",
  CRM_TAKEN: "Este CRM já está cadastrado.",
  DATABASE_UNAVAILABLE: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  DECRYPT_FAILED: "Não foi possível abrir os dados protegidos. Tente de novo mais tarde.",
  DETAIL_MISMATCH: "Os dados não conferem com os registrados.",
  DIRECTORY_UNAVAILABLE: "A busca de médicos está indisponível no momento. Tente de novo em instantes.",
  DOCTOR_NOT_BOOKABLE: "Este médico não está aceitando agendamentos agora.",
  DOCTOR_NOT_FOUND: "Médico não encontrado.",
  DOCTOR_NOT_VERIFIED: "Este médico ainda não teve o CRM verificado.",
  DOCTOR_STATUS_CONFLICT: "A situação do médico mudou. Recarregue a página.",
  DOCUMENT_CORRUPT: "O arquivo parece estar corrompido.",
  DOCUMENT_EMPTY: "O arquivo está vazio.",
  DOCUMENT_NOT_FOUND: "Documento não encontrado.",
  DOCUMENT_TOO_LARGE: "O arquivo é grande demais.",
  EMAIL_ALREADY_VERIFIED: "Seu e-mail já está confirmado.",
  EMAIL_CHANGE_FAILED: "Não foi possível trocar o e-mail.",
  EMAIL_NOT_VERIFIED: "Confirme seu e-mail (pelo link que enviamos) antes de continuar.",
  EMAIL_THROTTLED: "Muitos e-mails enviados. Aguarde um pouco e tente de novo.",
  ENDED: "Isto já terminou.",
  ERASURE_NOT_SELF_SERVICE: "A exclusão desta conta precisa ser feita pelo atendimento.",
  EVENT_DELIVERY_NOT_FOUND: "Entrega de evento não encontrada.",
  EVENT_ENDPOINT_NOT_FOUND: "Endereço de eventos não encontrado.",
  EVENT_ENDPOINT_URL_INVALID: "O endereço de eventos precisa ser uma URL https:// pública.",
  EVIDENCE_MISSING: "Envie os documentos de verificação do CRM.",
  EXAM_DATE_INVALID: "Confira a data do exame.",
  EXAM_DATE_IN_FUTURE: "A data do exame não pode estar no futuro.",
  EXECUTABLE_CONTENT: "Arquivos executáveis não são aceitos.",
  EXPIRE_TIME_INVALID: "Confira a data de término.",
  EXPORT_EXPIRED: "Esta exportação expirou. Peça uma nova.",
  EXPORT_NOT_FOUND: "Exportação não encontrada.",
  EXPORT_NOT_READY: "A exportação ainda está sendo preparada.",
  GROUP_EXISTS: "Já existe um grupo com esse nome.",
  GROUP_NOT_FOUND: "Grupo não encontrado.",
  HEADERS_TOO_LARGE: "A requisição é grande demais.",
  HEADER_REPEATED: "A requisição é inválida (cabeçalho repetido).",
  HEADER_REQUIRED: "A requisição é inválida (falta um cabeçalho).",
  IDEMPOTENCY_KEY_REUSED: "Esta operação já foi enviada com outros dados. Recarregue a página.",
  IDENTITY_UNAVAILABLE: "O serviço de contas está indisponível no momento. Tente de novo em instantes.",
  ILLEGAL_TRANSITION: "Esta ação não é possível no estado atual da consulta.",
  INTERNAL: "Algo deu errado do nosso lado. Tente de novo em instantes.",
  INVALID_CREDENTIALS: "E-mail, CPF ou senha incorretos.",
  KEYS_UNAVAILABLE: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  KEY_INVALID: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  KEY_NOT_FOUND: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  KIND_REQUIRED: "Escolha o tipo do documento.",
  KMS_UNAVAILABLE: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  LOGIN_REQUIRED: "Entre na sua conta para continuar.",
  LOGIN_THROTTLED: "Muitas tentativas de entrada. Aguarde um pouco e tente de novo.",
  MALFORMED_JSON: "Não foi possível ler o envio. Recarregue a página e tente de novo.",
  MEETINGS_UNAVAILABLE: "A sala de consulta está indisponível no momento. Tente de novo em instantes.",
  MEETING_NOT_FOUND: "Sala de consulta não encontrada.",
  MEETING_REJECTED: "Não foi possível abrir a sala de consulta.",
  METADATA_REPEATED: "A requisição é inválida (dado repetido).",
  METADATA_REQUIRED: "A requisição é inválida (falta um dado).",
  METHOD_NOT_ALLOWED: "Operação não permitida.",
  MFA_CODE_INVALID: "Código de verificação incorreto.",
  MFA_MANDATORY: "Sua conta precisa de um segundo fator de autenticação.",
  MFA_NOT_ENABLED: "O segundo fator não está ativado.",
  MFA_NOT_ENROLLED: "Cadastre primeiro o aplicativo autenticador.",
  MFA_REQUIRED: "Esta ação pede o segundo fator de autenticação.",
  MFA_TOKEN_INVALID: "A etapa de verificação expirou. Entre de novo.",
  NAME_REQUIRED: "Informe o nome.",
  NOT_AFFILIATED: "Este médico não está vinculado à clínica.",
  NOT_A_PARTNER_METHOD: "Esta operação não faz parte da API de parceiros.",
  NOT_DELEGATED: "O médico não delegou à clínica a resposta às consultas.",
  NOT_A_PATIENT: "Esta área é só para pacientes.",
  NOT_A_USER: "Esta operação é só para pessoas usuárias.",
  NOT_CONFIRMED: "A consulta ainda não está confirmada.",
  NOT_ENDED: "Isto ainda não terminou.",
  NOT_PARTICIPANT: "Você não participa desta consulta.",
  NO_WEB_SESSION: "Entre na sua conta para continuar.",
  OBJECT_NOT_FOUND: "Arquivo não encontrado.",
  OBJECT_TOO_LARGE: "O arquivo é grande demais.",
  ORIGIN_NOT_ALLOWED: "Abra o aplicativo pelo endereço oficial para entrar.",
  PAGE_TOKEN_INVALID: "A lista mudou. Volte para a primeira página.",
  PARTNER_EDGE_ONLY: "Sistemas de clínicas parceiras usam a API de parceiros (gRPC), não esta.",
  PARTNER_NOT_ALLOWED: "Esta operação não está disponível para clínicas parceiras.",
  PARTNER_TOKEN_REQUIRED: "A API de parceiros exige o token de um cliente de integração.",
  PASSWORD_TOO_WEAK: "Senha fraca: use pelo menos 12 caracteres, misturando palavras, números e símbolos.",
  PATIENT_BUSY: "Você já tem uma consulta nesse horário.",
  PAYMENT_MISMATCH: "O pagamento não confere com a cobrança.",
  PAYMENT_NOT_FOUND: "Pagamento não encontrado.",
  PAYMENT_NOT_PAID: "O pagamento ainda não foi confirmado.",
  PROFILE_INVALID: "Confira os dados do perfil.",
  PROFILE_NOT_FOUND: "Perfil não encontrado.",
  PROFILE_REQUIRED: "Complete seu perfil antes de continuar.",
  PROVIDER_REJECTED: "O provedor recusou a operação.",
  PROVIDER_UNAVAILABLE: "O provedor de pagamento está indisponível. Tente de novo em instantes.",
  RANGE_INVALID: "O período escolhido não é válido.",
  RANGE_TOO_LONG: "O período escolhido é longo demais.",
  RATE_LIMITED: "Muitas chamadas em pouco tempo. Aguarde o intervalo indicado e tente de novo.",
  REFRESH_TOKEN_EXPIRED: "Sua sessão expirou. Entre de novo.",
  REFRESH_TOKEN_INVALID: "Sua sessão terminou. Entre de novo.",
  REFRESH_TOKEN_REUSED: "Por segurança, sua sessão foi encerrada. Entre de novo.",
  REFUND_EXCEEDS_AMOUNT: "O estorno é maior que o valor pago.",
  REFUND_EXCEEDS_PAYMENT: "O estorno é maior que o valor pago.",
  REGISTRATION_THROTTLED: "Muitos cadastros em pouco tempo. Aguarde um pouco e tente de novo.",
  REQUEST_TOO_LARGE: "A requisição é grande demais.",
  RESET_TOKEN_INVALID: "O link de troca de senha é inválido ou expirou. Peça um novo.",
  REVOKED_SESSIONS_UNAVAILABLE: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  ROLE_NOT_ALLOWED: "Sua conta não tem acesso a esta área.",
  ROUTE_NOT_FOUND: "Página não encontrada.",
  SCHEDULING_UNAVAILABLE: "A agenda está indisponível no momento. Tente de novo em instantes.",
  SCOPE_INVALID: "Escopo de acesso inválido.",
  SCOPE_MISSING: "O acesso concedido não inclui esta operação.",
  SEARCH_INVALID: "Confira os filtros da busca.",
  SECRET_NOT_FOUND: "Segredo do cliente não encontrado.",
  SELF_REVIEW: "Você não pode avaliar a si mesmo.",
  SERVICE_ONLY: "Operação interna da plataforma.",
  SERVICE_TOKEN_INVALID: "Operação interna da plataforma.",
  SERVICE_UNAVAILABLE: "Serviço temporariamente indisponível. Tente de novo em instantes.",
  SESSION_ENDED: "Sua sessão foi encerrada. Entre de novo.",
  SHARE_EMPTY: "Escolha ao menos um documento para compartilhar.",
  SHARE_EXPIRED: "Este compartilhamento expirou.",
  SHARE_NOT_FOUND: "Compartilhamento não encontrado.",
  SHARE_REVOKED: "Este compartilhamento foi revogado.",
  SIGNATURE_INVALID: "Assinatura inválida.",
  SIGNATURE_STALE: "Assinatura expirada.",
  SLOT_BLOCKED: "Este horário foi bloqueado pelo médico.",
  SLOT_BOOKED: "Este horário já foi reservado.",
  SLOT_NOT_FOUND: "Horário não encontrado.",
  SLOT_PAST: "Este horário já passou.",
  SLOT_TAKEN: "Este horário acabou de ser reservado por outra pessoa. Escolha outro.",
  STORAGE_UNAVAILABLE: "O armazenamento está indisponível no momento. Tente de novo em instantes.",
  TIME_RANGE_INVALID: "O período escolhido não é válido.",
  TIME_ZONE_UNKNOWN: "Fuso horário desconhecido.",
  TITLE_REQUIRED: "Informe o título.",
  TOKEN_EXPIRED: "Sua sessão expirou. Entre de novo.",
  TOKEN_INVALID: "Sua sessão é inválida. Entre de novo.",
  TOKEN_MISSING: "Entre na sua conta para continuar.",
  TOO_EARLY: "Ainda é cedo: a sala abre 10 minutos antes da consulta.",
  TOO_LATE_TO_BOOK: "Já é tarde para reservar este horário. Escolha outro.",
  TOO_MANY_PENDING_BOOKINGS: "Você tem agendamentos demais aguardando pagamento. Pague ou cancele algum antes.",
  TRAILER_MISMATCH: "O envio do arquivo falhou. Tente de novo.",
  TRAILER_NOT_LAST: "O envio do arquivo falhou. Tente de novo.",
  TRAILER_REQUIRED: "O envio do arquivo falhou. Tente de novo.",
  UPCOMING_APPOINTMENTS: "Você tem consultas marcadas: cancele-as antes.",
  UPDATE_MASK_INVALID: "Não foi possível salvar. Recarregue a página e tente de novo.",
  VALIDATION_FAILED: "Confira os campos destacados.",
  VERIFICATION_TOKEN_INVALID: "O link de confirmação é inválido ou expirou. Peça um novo.",
  VERIFY_TOKEN_MISMATCH: "O link de confirmação não é desta conta.",
  WEB_CLIENT_HEADER_MISSING: "Abra o aplicativo pelo endereço oficial para entrar.",
};

export const genericMessage = "Algo deu errado. Tente de novo em instantes.";
export const networkMessage = "Sem conexão com o servidor. Verifique sua internet e tente de novo.";

/** An API error as the edge answers it: {code, message, details}. */
export interface ApiErrorBody {
  code?: number;
  message?: string;
  details?: Array<Record<string, unknown>>;
}

export class ApiError extends Error {
  readonly reason: string;
  readonly status: number;
  /** Field (proto path, e.g. "birthDate") → what is wrong with it, in pt-BR. */
  readonly fields: Record<string, string>;
  /** The ErrorInfo's metadata (e.g. TOO_EARLY's window_start_time). */
  readonly metadata: Record<string, string>;
  constructor(status: number, body: ApiErrorBody | undefined) {
    const reason = reasonOf(body);
    super(messageFor(reason));
    this.reason = reason;
    this.status = status;
    this.fields = fieldViolations(body);
    const info = body?.details?.find((d) => typeof d["@type"] === "string" && d["@type"].endsWith("google.rpc.ErrorInfo"));
    this.metadata = (info?.metadata as Record<string, string> | undefined) ?? {};
  }
}

/** reasonOf finds the ErrorInfo reason among the details ("" when none). */
export function reasonOf(body: ApiErrorBody | undefined): string {
  for (const d of body?.details ?? []) {
    if (typeof d["@type"] === "string" && d["@type"].endsWith("google.rpc.ErrorInfo") && typeof d.reason === "string") {
      return d.reason;
    }
  }
  return "";
}

/** messageFor is the pt-BR text for a reason, or a generic one. */
export function messageFor(reason: string): string {
  return reasonMessages[reason] ?? genericMessage;
}

/** fieldViolations maps each field the edge named to a pt-BR hint. */
export function fieldViolations(body: ApiErrorBody | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of body?.details ?? []) {
    const violations = d.fieldViolations;
    if (!Array.isArray(violations)) continue;
    for (const v of violations as Array<{ field?: string }>) {
      if (v.field) out[v.field] = "Confira este campo.";
    }
  }
  return out;
}
