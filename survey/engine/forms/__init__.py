"""Forms: the page-form builder, our field classes and validators."""
