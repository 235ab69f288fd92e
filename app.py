from decidim_py import create_app

app = create_app()
