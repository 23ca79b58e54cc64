"""What the Explore section shows: the data browser, the phantom lab, the cardiac cine, and one extra per case (extras/)."""
