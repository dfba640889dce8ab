"""Everything fluxbot shows people as text: preview comments, PR bodies, rollout reports."""
