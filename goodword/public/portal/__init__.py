"""The advocate portal (`/p/`): an advocate's link, share buttons, invitations, referrals and
rewards, reached by a magic link and kept by a cookie (docs/sharing-portal.md)."""
