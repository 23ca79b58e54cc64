"""What the Train section and the Architecture race show: the race panel and its settings, the job bridge (jobs), live charts, stored runs and the architecture cards."""
