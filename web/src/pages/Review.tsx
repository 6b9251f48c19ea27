// The patient's review of a completed consultation: 1 to 5 stars and an optional
// comment, once (the API answers ALREADY_REVIEWED to a second one).
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner } from "../components";
import { ApiError } from "../errors";

const labels = ["Ruim", "Regular", "Boa", "Muito boa", "Excelente"];

export function Review({ appointmentId }: { appointmentId: string }) {
  const [stars, setStars] = useState(0);
  const [comment, setComment] = useState("");
  const review = useMutation({
    mutationFn: () => must(api.POST("/v1/appointments/{appointmentId}/review", { params: { path: { appointmentId } }, body: { stars, comment: comment.trim() } })),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (stars > 0) review.mutate();
  };
  const already = review.error instanceof ApiError && review.error.reason === "ALREADY_REVIEWED";
  if (review.isSuccess || already)
    return (
      <section className="card" aria-labelledby="review-title">
        <h2 id="review-title">Avaliação</h2>
        <p className="banner ok" role="status">
          {already ? "Você já avaliou esta consulta. Obrigado!" : `Obrigado pela avaliação! A nota do médico agora é ${review.data?.ratingAverage?.toLocaleString("pt-BR", { maximumFractionDigits: 1 })} (${review.data?.ratingCount === 1 ? "1 avaliação" : `${review.data?.ratingCount} avaliações`}).`}
        </p>
      </section>
    );
  return (
    <section className="card" aria-labelledby="review-title">
      <h2 id="review-title">Como foi a consulta?</h2>
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="stars">
          <legend>Sua nota</legend>
          {labels.map((label, i) => (
            <label key={label} className={stars === i + 1 ? "star chosen" : "star"}>
              <input type="radio" name="stars" value={i + 1} checked={stars === i + 1} onChange={() => setStars(i + 1)} />
              <span aria-hidden="true">{"★".repeat(i + 1)}</span>
              <span className="star-label">
                {i + 1} · {label}
              </span>
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="review-comment">Comentário (opcional, público)</label>
          <textarea id="review-comment" rows={3} maxLength={2000} value={comment} onChange={(e) => setComment(e.target.value)} />
        </div>
        <ErrorBanner error={review.error} />
        <div className="actions">
          <Button type="submit" busy={review.isPending} disabled={stars === 0}>
            Enviar avaliação
          </Button>
        </div>
      </form>
    </section>
  );
}
