# Flask-WTF 1.2: the parts Proofdesk uses.
from flask_wtf.csrf import CSRFProtect as CSRFProtect
from flask_wtf.form import FlaskForm as FlaskForm
