-- Present only in databases loaded by `rollout-gates simulate`: marks verdicts as simulated.
SELECT scenario, env, seed, end_at
FROM rollout_gates_simulation
ORDER BY loaded_at DESC
LIMIT 1;
