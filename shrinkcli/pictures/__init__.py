"""Every PNG, GIF and video: matplotlib is imported only here."""
