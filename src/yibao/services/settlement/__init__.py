"""Settlement at designated institutions: payments and refunds within the policy's limits."""
